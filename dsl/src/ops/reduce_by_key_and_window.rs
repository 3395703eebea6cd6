//! `reduceByKeyAndWindow(f, length, slide)`: per key, the window's values folded.

use super::window::{window_call, written_args};
use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func::lower_combiner;
use crate::types::Type;
use quote::quote;
use sluice_grammar::ast::{ExprKind, Stage, StageArg};

pub const SPEC: OpSpec = OpSpec {
    name: "reduceByKeyAndWindow",
    kind: OpKind::Transform,
    signature: "reduceByKeyAndWindow(f: (V, V) -> V, length: duration, slide: duration) : (K, V) -> (K, V)",
    summary: "Every `slide`, the values of each key over the last `length` combined with `f`, \
              recomputed from the window's batches (`window` then `reduceByKey`). The \
              incremental form with an inverse function is not built yet.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) | reduceByKeyAndWindow(+, 30s, 2s) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "reduceByKeyAndWindow", stage, input)?;
    let args = written_args(stage);
    if let Some((_, inv)) = args
        .get(1)
        .filter(|(_, e)| matches!(e.kind, ExprKind::Section(_) | ExprKind::Lambda(..)))
    {
        cx.report(
            Diagnostic::error(
                "flow::unsupported::inverse_window",
                inv.span,
                "windows with an inverse function (incremental) are not supported by this version of Sluice",
            )
            .label("inverse function")
            .help("drop it: the window is then recomputed from its batches, with the same result"),
        );
        return None;
    }
    let f_arg = args.first().map(|(_, e)| StageArg::Expr((*e).clone()));
    let f = lower_combiner(cx, "reduceByKeyAndWindow", stage.span, f_arg.as_ref(), &v)?;
    let window = window_call(cx, stage, input, &args, 1)?;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, v])),
        code: quote!(#window.reduce_by_key(#f)),
    })
}
