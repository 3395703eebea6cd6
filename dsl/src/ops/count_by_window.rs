//! `countByWindow(length, slide)`: how many elements the window holds.

use super::window::{window_call, written_args};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "countByWindow",
    kind: OpKind::Transform,
    signature: "countByWindow(length: duration, slide: duration) : T -> i64",
    summary: "Every `slide`, the number of elements in the last `length` (`window` then `count`).",
    example: "socket(\"localhost\", 9999) | countByWindow(10s, 2s) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let window = window_call(cx, stage, input, &written_args(stage), 0)?;
    Some(Lowered {
        out: Some(Type::I64),
        code: quote!(#window.count()),
    })
}
