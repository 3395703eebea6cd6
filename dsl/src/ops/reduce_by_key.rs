//! `reduceByKey f`: per batch, the values of each key folded with `f`.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_combiner;
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
    let f = lower_combiner(
        cx,
        "reduceByKey",
        stage.span,
        stage.arg.as_ref(),
        (&v, input.from),
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.reduce_by_key(#f)),
    })
}
