//! `flatMapValues f`: each element of `f(value)` paired with the key.

use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_list_fn;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "flatMapValues",
    kind: OpKind::Transform,
    signature: "flatMapValues (f: V -> [W]) : (K, V) -> (K, W)",
    summary: "Applies `f` to the value of every pair and emits the key with each element of \
              the list it returns.",
    example: "socket(\"localhost\", 9999) | map (line, line) | flatMapValues split | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "flatMapValues", stage, input)?;
    let (w, f) = lower_list_fn(
        cx,
        "flatMapValues",
        stage.span,
        stage.arg.as_ref(),
        &[v],
        Some("use `mapValues` for one value out per value in"),
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, w])),
        code: quote_spanned!(sp=> #var.flat_map_values(#f)),
    })
}
