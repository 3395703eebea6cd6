//! `mapValues f`: a function of each pair's value, the key kept.

use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_fn;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "mapValues",
    kind: OpKind::Transform,
    signature: "mapValues (f: V -> W) : (K, V) -> (K, W)",
    summary: "Applies `f` to the value of every pair and keeps its key.",
    example:
        "socket(\"localhost\", 9999) | flatMap split | map (w, 1) | mapValues n => n * 10 | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "mapValues", stage, input)?;
    let (w, f) = lower_fn(cx, "mapValues", stage.span, stage.arg.as_ref(), &[v])?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, w])),
        code: quote_spanned!(sp=> #var.map_values(#f)),
    })
}
