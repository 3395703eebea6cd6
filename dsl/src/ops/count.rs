//! `count`: the number of elements of each batch.

use super::{no_argument, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "count",
    kind: OpKind::Transform,
    signature: "count : T -> i64",
    summary: "One element per batch: how many elements the batch has — 0 for an empty batch, \
              as in Spark.",
    example: "socket(\"localhost\", 9999) | flatMap split | count | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    no_argument(cx, stage)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::I64),
        code: quote_spanned!(sp=> #var.count()),
    })
}
