//! `queueStream([[…], […], …])`: batches given in the pipeline itself, one per interval.

use super::args::written;
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::{ExprKind, Stage, StageArg};
use sluice_grammar::Span;

pub const SPEC: OpSpec = OpSpec {
    name: "queueStream",
    kind: OpKind::Source,
    signature: "queueStream(batches: [[T]]) -> T",
    summary: "One batch per interval from the lists given, then empty batches (Spark's \
              `queueStream` with `oneAtATime`): for trying a pipeline and for tests. `[]` is \
              an empty batch; every element has one type.",
    example: "queueStream([[\"a b a\"], [], [\"b\"]]) | flatMap split | countByValue | print",
    lower,
};

fn shape(cx: &mut Cx, span: Span) -> Option<Lowered> {
    cx.report(
        Diagnostic::error(
            "flow::arg::shape",
            span,
            "`queueStream` takes one list of batches, each a list",
        )
        .label("not a list of lists")
        .help("e.g. `queueStream([[\"a b\"], [], [\"c\"]])`"),
    );
    None
}

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let count = match &stage.arg {
        Some(StageArg::Args(a)) => a.args.len(),
        Some(StageArg::Expr(_)) => 1,
        _ => 0,
    };
    let Some(arg) = written(stage, 0, "batches").filter(|_| count == 1) else {
        return shape(cx, stage.span);
    };
    let ExprKind::List(batches) = &arg.kind else {
        return shape(cx, arg.span);
    };
    let mut elem: Option<(Type, Span)> = None;
    let mut lowered = Vec::new();
    for batch in batches {
        let ExprKind::List(items) = &batch.kind else {
            return shape(cx, batch.span);
        };
        let mut codes = Vec::new();
        for item in items {
            let (t, code) = func::constant(cx, item)?;
            func::one_type(cx, &mut elem, t, item.span, "the batches hold one type")?;
            codes.push(code);
        }
        lowered.push(codes);
    }
    let Some((t, _)) = elem else {
        cx.report(
            Diagnostic::error(
                "flow::type::empty_list",
                arg.span,
                "every batch is empty, so the element type cannot be told",
            )
            .label("no elements")
            .help("give at least one batch an element"),
        );
        return None;
    };
    let rust = t.rust();
    let sp = cx.span(stage.span);
    let batches = lowered
        .iter()
        .map(|codes| quote_spanned!(sp=> ::std::vec![#(#codes),*]));
    Some(Lowered {
        out: Some(t),
        code: quote_spanned!(sp=> ssc.queue_stream::<#rust>(::std::vec![#(#batches),*])),
    })
}
