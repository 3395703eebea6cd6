//! `updateStateByKey f`: a state per key, updated by each batch's values.

use super::{expect_pair, rust_block_arg, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::rust_block::{declared_result, lower_closure};
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "updateStateByKey",
    kind: OpKind::Transform,
    signature: "updateStateByKey { |values: Vec<V>, state: Option<S>| -> Option<S> { … } } : (K, V) -> (K, S)",
    summary: "Keeps a state per key across batches. Each batch, the closure gets a key's new \
              values and its state so far (`None` for a new key) and returns the new state; \
              `None` removes the key. The stream carries every key's state after the batch. \
              Unlike Spark, keys without new data are not visited. With a `checkpoint` \
              directory the state is checkpointed after every batch and a restart resumes it.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) \
              | updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) } } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "updateStateByKey", stage, input)?;
    let block = rust_block_arg(
        cx,
        stage,
        "an embedded Rust closure",
        "not a Rust closure",
        "updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { … } }",
    )?;
    let Some(Type::Option(state)) = declared_result(block) else {
        cx.report(
            Diagnostic::error("flow::rust::return_type", block.span, "`updateStateByKey`'s closure must declare `-> Option<S>`, S being the state's type")
                .label("no `-> Option<S>`"),
        );
        return None;
    };
    let params = [Type::List(Box::new(v)), Type::Option(state.clone())];
    let (_, f) = lower_closure(cx, "updateStateByKey", block, &params)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, *state])),
        code: quote_spanned!(sp=> #var.update_state_by_key(#f)),
    })
}
