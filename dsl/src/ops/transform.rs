//! `transform f`: a function of the whole batch.

use super::{lower_records_fn, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "transform",
    kind: OpKind::Transform,
    signature: "transform (f: [T] -> [U]) : T -> U",
    summary: "Calls `f` once per batch with all its records (gathered from every partition) \
              and makes the list it returns the new batch — Spark's `transform`, on records \
              instead of an RDD.",
    example: "socket(\"localhost\", 9999) | transform { |b: Vec<String>| -> Vec<String> { let mut b = b; b.sort(); b } } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    lower_records_fn(cx, stage, input, "transform")
}
