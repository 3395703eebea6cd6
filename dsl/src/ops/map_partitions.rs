//! `mapPartitions f`: a function of all records of a partition at once.

use super::{lower_records_fn, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "mapPartitions",
    kind: OpKind::Transform,
    signature: "mapPartitions (f: [T] -> [U]) : T -> U",
    summary: "Calls `f` once per partition with all its records and emits the list it returns \
              — for work with a per-partition cost, such as opening a connection.",
    example: "socket(\"localhost\", 9999) | mapPartitions { |p: Vec<String>| -> Vec<i64> { vec![p.len() as i64] } } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    lower_records_fn(cx, stage, input, "map_partitions")
}
