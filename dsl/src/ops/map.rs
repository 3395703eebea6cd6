//! `map f`: one output element per input element.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_fn;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "map",
    kind: OpKind::Transform,
    signature: "map (f: T -> U) : T -> U",
    summary: "Applies `f` to every element. `f` is a template such as `(w, 1)`, whose one free \
              name stands for the element, a lambda such as `x => x * 2`, or a builtin.",
    example: "socket(\"localhost\", 9999) | map (line, 1) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (out, f) = lower_fn(
        cx,
        "map",
        stage.span,
        stage.arg.as_ref(),
        std::slice::from_ref(&input.ty),
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(out),
        code: quote_spanned!(sp=> #var.map(#f)),
    })
}
