//! `foreachPartition sink`: every partition of every batch into a declared sink.

use super::{name_arg, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use quote::{format_ident, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "foreachPartition",
    kind: OpKind::Output,
    signature: "foreachPartition sink",
    summary: "Hands each partition of each batch to the named sink, partitions in parallel. \
              A `postgres` or `sqlite` sink writes one transaction per partition per batch and \
              records it, so a batch run again does not count twice.",
    example: "sink counts = sqlite(path: \"wc.db\", table: \"wordcount(word, n)\")\n\
              socket(\"localhost\", 9999) | flatMap split | map (w, 1) | reduceByKey + | foreachPartition counts",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (name, span) = name_arg(
        cx,
        stage,
        "sink",
        "declare one, e.g. `sink jdbc = postgres(url: \"…\", table: \"t(key, value)\")`, then write `foreachPartition jdbc`",
    )?;
    let Some(sink) = cx.sinks.get(name).cloned() else {
        if cx.poisoned.contains(name) {
            return None;
        }
        let mut d = Diagnostic::error(
            "flow::sink::unknown",
            span,
            format!("no sink named `{name}`"),
        )
        .label("not declared");
        d = match did_you_mean(name, cx.sinks.keys().map(String::as_str)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "declare it: `sink {name} = postgres(url: \"…\", table: \"t(key, value)\")`"
            )),
        };
        cx.report(d);
        return None;
    };
    if input.ty != sink.record_type() {
        cx.report(
            Diagnostic::error(
                "flow::sink::schema_mismatch",
                span,
                format!(
                    "sink `{name}` stores {} records, but this stream carries {}",
                    sink.record_type(),
                    input.ty
                ),
            )
            .label(format!("needs {}", sink.record_type()))
            .also(input.from, format!("this produces {}", input.ty))
            .also(sink.table_span, format!("columns {}", sink.columns_text()))
            .help(format!(
                "map the stream to {} first, e.g. `map (w, 1)` before `reduceByKey +`",
                sink.record_type()
            )),
        );
        return None;
    }
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let sink_var = format_ident!("sink_{}", name, span = sp);
    Some(Lowered {
        out: None,
        code: quote_spanned!(sp=> #var.foreach_partition(::std::sync::Arc::clone(&#sink_var))),
    })
}
