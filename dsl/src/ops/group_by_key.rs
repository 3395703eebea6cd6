//! `groupByKey`: per batch, every value of each key.

use super::{expect_pair, no_argument, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "groupByKey",
    kind: OpKind::Transform,
    signature: "groupByKey : (K, V) -> (K, [V])",
    summary: "Within each batch, gathers the values of each key, hash-partitioned by key. \
              Prints as Spark does: `(key,CompactBuffer(1, 2))`. Prefer `reduceByKey` when \
              the values are only combined: it combines before the shuffle.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, len(w)) | groupByKey | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    no_argument(cx, stage)?;
    let (k, v) = expect_pair(cx, "groupByKey", stage, input)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, Type::List(Box::new(v))])),
        code: quote_spanned!(sp=> #var.group_by_key()),
    })
}
