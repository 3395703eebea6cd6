//! `glom`: each partition as one element.

use super::{no_argument, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "glom",
    kind: OpKind::Transform,
    signature: "glom : T -> [T]",
    summary: "Each partition of a batch becomes one element: the list of its records.",
    example: "socket(\"localhost\", 9999) | repartition(4) | glom | map { |p: Vec<String>| -> i64 { p.len() as i64 } } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    no_argument(cx, stage)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::List(Box::new(input.ty.clone()))),
        code: quote_spanned!(sp=> #var.glom()),
    })
}
