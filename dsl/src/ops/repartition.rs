//! `repartition(n)`: the batch spread evenly over `n` partitions.

use super::args::{bind, check_int_range, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "repartition",
    kind: OpKind::Transform,
    signature: "repartition(n: i64) : T -> T",
    summary: "Spreads each batch evenly over `n` partitions, so later operators run `n` ways \
              in parallel.",
    example: "socket(\"localhost\", 9999) | repartition(4) | flatMap split | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let bound = bind(
        cx,
        stage,
        &[Param {
            name: "n",
            ty: Type::I64,
            required: true,
        }],
    )?;
    check_int_range(
        cx,
        stage,
        (0, "n"),
        1..=i64::MAX,
        |n| format!("cannot spread a batch over {n} partitions"),
        "at least 1",
    )?;
    let n = bound[0].clone()?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.repartition((#n).max(1) as usize)),
    })
}
