//! `reduceByKeyAndWindow(f, [inv,] length, slide, [filter: …])`: per key, the window's
//! values folded — recomputed, or kept incrementally when an inverse function is given.

use super::window::{window_call, window_durations, written_args};
use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func::{lower_combiner, lower_fn};
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::{ExprKind, Stage, StageArg};

pub const SPEC: OpSpec = OpSpec {
    name: "reduceByKeyAndWindow",
    kind: OpKind::Transform,
    signature: "reduceByKeyAndWindow(f: (V, V) -> V, [inv: (V, V) -> V,] length: duration, slide: duration, [filter: (K, V) -> bool]) : (K, V) -> (K, V)",
    summary: "Every `slide`, the values of each key over the last `length` combined with `f`. \
              Without `inv` the window is recomputed from its batches; with `inv` (undoing \
              `f`, such as `-` for `+`) it is kept incrementally: the previous window plus \
              the batches that entered, minus those that left. `filter` drops keys from the \
              incremental window, e.g. `filter: (k, n) => n != 0`.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) \
              | reduceByKeyAndWindow(+, -, 30s, 2s, filter: (w, n) => n > 0) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "reduceByKeyAndWindow", stage, input)?;
    let all = written_args(stage);
    let filter = all
        .iter()
        .find(|(n, _)| *n == Some("filter"))
        .map(|(_, e)| *e);
    let args: Vec<_> = all
        .iter()
        .copied()
        .filter(|(n, _)| *n != Some("filter"))
        .collect();
    let f_arg = args.first().map(|(_, e)| StageArg::Expr((*e).clone()));
    let f = lower_combiner(
        cx,
        "reduceByKeyAndWindow",
        stage.span,
        f_arg.as_ref(),
        (&v, input.from),
    )?;
    let is_fn = |e: &sluice_grammar::ast::Expr| {
        matches!(e.kind, ExprKind::Section(_) | ExprKind::Lambda(..))
    };
    let Some((_, inv)) = args.get(1).filter(|(_, e)| is_fn(e)) else {
        if let Some(filter) = filter {
            cx.report(
                Diagnostic::error(
                    "flow::arg::unknown",
                    filter.span,
                    "`filter` applies to the incremental window: give an inverse function too",
                )
                .label("needs `inv`")
                .help("e.g. `reduceByKeyAndWindow(+, -, 30s, 2s, filter: (w, n) => n > 0)`"),
            );
            return None;
        }
        let window = window_call(cx, stage, input, &args, 1)?;
        return Some(Lowered {
            out: Some(Type::Tuple(vec![k, v])),
            code: quote!(#window.reduce_by_key(#f)),
        });
    };
    let inv = lower_combiner(
        cx,
        "reduceByKeyAndWindow",
        stage.span,
        Some(&StageArg::Expr((*inv).clone())),
        (&v, input.from),
    )?;
    let pair = Type::Tuple(vec![k.clone(), v.clone()]);
    let keep = match filter {
        Some(e) => {
            let (out, keep) = lower_fn(
                cx,
                "reduceByKeyAndWindow",
                stage.span,
                Some(&StageArg::Expr(e.clone())),
                std::slice::from_ref(&pair),
            )?;
            if out != Type::Bool {
                cx.report(
                    Diagnostic::error(
                        "flow::type::mismatch",
                        e.span,
                        format!("`filter` must be a condition (bool), but this is {out}"),
                    )
                    .label(format!("this is {out}"))
                    .help("e.g. `filter: (w, n) => n > 0` keeps the keys whose count is positive"),
                );
                return None;
            }
            let ty = pair.rust();
            quote!(::std::option::Option::Some(|kv: &#ty| (#keep)(::std::clone::Clone::clone(kv))))
        }
        None => quote!(::std::option::Option::None),
    };
    // The durations come after the two functions.
    let (len, slide) = window_durations(cx, stage, input, &args, 2)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(pair),
        code: quote_spanned!(sp=> #var.reduce_by_key_and_window_inv(#f, #inv, #len, #slide, #keep)?),
    })
}
