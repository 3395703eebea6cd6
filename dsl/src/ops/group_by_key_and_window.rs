//! `groupByKeyAndWindow(length, slide)`: every value of each key in the window.

use super::window::{window_call, written_args};
use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "groupByKeyAndWindow",
    kind: OpKind::Transform,
    signature: "groupByKeyAndWindow(length: duration, slide: duration) : (K, V) -> (K, [V])",
    summary: "Every `slide`, the values of each key over the last `length` (`window` then \
              `groupByKey`).",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, len(w)) | groupByKeyAndWindow(10s, 2s) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "groupByKeyAndWindow", stage, input)?;
    let window = window_call(cx, stage, input, &written_args(stage), 0)?;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, Type::List(Box::new(v))])),
        code: quote!(#window.group_by_key()),
    })
}
