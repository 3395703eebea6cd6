//! `mapPartitions f`: a function of all records of a partition at once.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_list_fn;
use crate::types::Type;
use quote::quote_spanned;
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
    let input = input?;
    let (u, f) = lower_list_fn(
        cx,
        "mapPartitions",
        stage.span,
        stage.arg.as_ref(),
        &[Type::List(Box::new(input.ty.clone()))],
        None,
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(u),
        code: quote_spanned!(sp=> #var.map_partitions(#f)),
    })
}
