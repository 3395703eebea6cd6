//! `reduce f`: each batch folded to one element.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_combiner;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "reduce",
    kind: OpKind::Transform,
    signature: "reduce (f: (T, T) -> T) : T -> T",
    summary: "One element per batch: all its elements combined with `f` (partitions first, in \
              parallel). An empty batch gives no element.",
    example: "socket(\"localhost\", 9999) | map len(line) | reduce + | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let t = input.ty.clone();
    let f = lower_combiner(
        cx,
        "reduce",
        stage.span,
        stage.arg.as_ref(),
        (&t, input.from),
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(t),
        code: quote_spanned!(sp=> #var.reduce(#f)),
    })
}
