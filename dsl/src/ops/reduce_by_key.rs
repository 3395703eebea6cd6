//! `reduceByKey f`: per batch, the values of each key folded with `f`.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func::lower_fn;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "reduceByKey",
    kind: OpKind::Transform,
    signature: "reduceByKey (f: (V, V) -> V) : (K, V) -> (K, V)",
    summary: "Within each batch, combines the values of each key with `f` (an operator such as \
              `+` or a lambda `(a, b) => …`). Values are pre-combined in each partition, then \
              hash-partitioned by key.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) | reduceByKey + | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (_, v) = super::expect_pair(cx, "reduceByKey", stage, input)?;
    let (out, f) = lower_fn(
        cx,
        "reduceByKey",
        stage.span,
        stage.arg.as_ref(),
        &[v.clone(), v.clone()],
    )?;
    if out != v {
        let at = stage.arg.as_ref().map(|a| a.span()).unwrap_or(stage.span);
        cx.report(
            Diagnostic::error(
                "flow::type::mismatch",
                at,
                format!("`reduceByKey` needs a function returning {v}, but this returns {out}"),
            )
            .label(format!("returns {out}")),
        );
        return None;
    }
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.reduce_by_key(#f)),
    })
}
