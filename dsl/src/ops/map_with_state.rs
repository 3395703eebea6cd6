//! `mapWithState(timeout: d) f`: a state per key, a result per record, idle keys timed out.

use super::{expect_pair, rust_block_arg, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::rust_block::lower_state_closure;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::{ExprKind, Stage};

pub const SPEC: OpSpec = OpSpec {
    name: "mapWithState",
    kind: OpKind::Transform,
    signature: "mapWithState(timeout: duration) { |k: &K, v: Option<V>, state: &mut State<S>| -> U { … } } : (K, V) -> U",
    summary: "Calls the closure once per record with its key, value and the key's `State` \
              (`get`, `update`, `remove`, `exists`, `is_timing_out`); its results form the \
              stream. With a timeout, a key idle that long gets one last call with no value \
              while `is_timing_out()`, then is dropped. Only keys with records or a due \
              timeout are visited. With a `checkpoint` directory the state (and each key's \
              idle time) is checkpointed after every batch and a restart resumes it.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) \
              | mapWithState(timeout: 30s) { |k: &String, v: Option<i64>, s: &mut State<i64>| -> (String, i64) { \
              let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0); s.update(n); (k.clone(), n) } } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "mapWithState", stage, input)?;
    let block = rust_block_arg(cx, stage, "an embedded Rust closure", "not a Rust closure", "mapWithState(timeout: 30s) { |k: &String, v: Option<i64>, s: &mut State<i64>| -> i64 { … } }")?;
    let mut timeout = quote!(::std::option::Option::None);
    for a in stage.config.iter().flat_map(|c| &c.args) {
        match (a.name.as_ref().map(|n| n.name.as_str()), &a.value.kind) {
            (Some("timeout") | None, ExprKind::Duration(ms)) if *ms > 0 => {
                timeout =
                    quote!(::std::option::Option::Some(::std::time::Duration::from_millis(#ms)));
            }
            _ => {
                cx.report(
                    Diagnostic::error(
                        "flow::arg::type",
                        a.span,
                        "`mapWithState` takes one setting, `timeout: <duration>`",
                    )
                    .label("not a timeout")
                    .help("e.g. `mapWithState(timeout: 30s) { … }`"),
                );
                return None;
            }
        }
    }
    let (_, out, f) = lower_state_closure(cx, block, &k, &v)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let rt = &cx.rt;
    Some(Lowered {
        out: Some(out),
        code: quote_spanned!(sp=> #var.map_with_state(#timeout, {
            use #rt::State;
            #f
        }).mapped),
    })
}
