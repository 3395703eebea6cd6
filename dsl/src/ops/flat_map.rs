//! `flatMap f`: any number of output elements per input element.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_list_fn;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "flatMap",
    kind: OpKind::Transform,
    signature: "flatMap (f: T -> [U]) : T -> U",
    summary: "Applies `f` to every element and emits each element of the list it returns. \
              `flatMap split` splits lines into words on runs of whitespace.",
    example: "socket(\"localhost\", 9999) | flatMap split | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (elem, f) = lower_list_fn(
        cx,
        "flatMap",
        stage.span,
        stage.arg.as_ref(),
        std::slice::from_ref(&input.ty),
        Some("use `map` for one element out per element in"),
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(elem),
        code: quote_spanned!(sp=> #var.flat_map(#f)),
    })
}
