//! `window(length, slide)`: the batches of the last `length`, every `slide`.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::{Expr, ExprKind, Stage, StageArg};
use sluice_grammar::Span;

pub const SPEC: OpSpec = OpSpec {
    name: "window",
    kind: OpKind::Transform,
    signature: "window(length: duration, slide: duration = the stream's interval) : T -> T",
    summary: "Every `slide`, one batch holding the elements of the batches of the last \
              `length` (Spark's `window`). Both must be multiples of the batch interval — \
              checked here, where Spark fails at run time. Output operations after a window \
              run once per slide.",
    example: "socket(\"localhost\", 9999) | flatMap split | window(30s, 2s) | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let args = written_args(stage);
    let window = window_call(cx, stage, input, &args, 0)?;
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: window,
    })
}

/// The arguments as written: `(name, value)` in order.
pub(crate) fn written_args(stage: &Stage) -> Vec<(Option<&str>, &Expr)> {
    match &stage.arg {
        Some(StageArg::Args(a)) => a
            .args
            .iter()
            .map(|a| (a.name.as_ref().map(|n| n.name.as_str()), &a.value))
            .collect(),
        Some(StageArg::Expr(e)) => vec![(None, e)],
        _ => Vec::new(),
    }
}

/// `#input.window(length, slide)?` from the `length` and optional `slide` arguments,
/// found by name or at positions `first` and `first + 1`; nothing may follow them.
pub(crate) fn window_call(
    cx: &mut Cx,
    stage: &Stage,
    input: &Input,
    args: &[(Option<&str>, &Expr)],
    first: usize,
) -> Option<TokenStream> {
    let (len, slide) = window_durations(cx, stage, input, args, first)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(quote_spanned!(sp=> #var.window(#len, #slide)?))
}

/// The `length` and optional `slide` arguments as `Duration` expressions, found by name or
/// at positions `first` and `first + 1`; nothing may follow them.
pub(crate) fn window_durations(
    cx: &mut Cx,
    stage: &Stage,
    input: &Input,
    args: &[(Option<&str>, &Expr)],
    first: usize,
) -> Option<(TokenStream, TokenStream)> {
    if let Some((_, extra)) = args.get(first + 2) {
        cx.report(
            Diagnostic::error(
                "flow::arg::extra",
                extra.span,
                format!("`{}` takes a window length and a slide here", stage.op.name),
            )
            .label("extra argument")
            .help(super::usage(&stage.op.name)),
        );
        return None;
    }
    let pick = |name: &str, pos: usize| {
        args.iter()
            .enumerate()
            .find(|(i, (n, _))| n.map(|n| n == name).unwrap_or(*i == pos))
            .map(|(_, (_, e))| *e)
    };
    let len = duration(cx, pick("length", first), stage, "length")?.0;
    let var = &input.var;
    let slide = match pick("slide", first + 1) {
        Some(e) => {
            let ms = duration(cx, Some(e), stage, "slide")?.0;
            quote!(::std::time::Duration::from_millis(#ms))
        }
        None => quote!(#var.slide()),
    };
    Some((quote!(::std::time::Duration::from_millis(#len)), slide))
}

/// A duration literal that is a positive multiple of the batch interval.
fn duration(cx: &mut Cx, e: Option<&Expr>, stage: &Stage, what: &str) -> Option<(u64, Span)> {
    let Some(e) = e else {
        cx.report(
            Diagnostic::error(
                "flow::arg::missing",
                stage.span,
                format!("`{}` needs a window {what}", stage.op.name),
            )
            .label(format!("no {what}"))
            .help(format!("e.g. `{}(30s, 2s)`", stage.op.name)),
        );
        return None;
    };
    let ExprKind::Duration(ms) = e.kind else {
        cx.report(
            Diagnostic::error(
                "flow::arg::type",
                e.span,
                format!("the window {what} must be a duration literal"),
            )
            .label("not a duration")
            .help("write it with a unit: `500ms`, `30s`, `1m`"),
        );
        return None;
    };
    let batch = cx.batch_ms;
    if ms == 0 || !ms.is_multiple_of(batch) {
        cx.report(
            Diagnostic::error(
                "flow::window::not_multiple",
                e.span,
                format!("the window {what} must be a multiple of the batch interval ({batch}ms), but is {ms}ms"),
            )
            .label(format!("not a multiple of {batch}ms"))
            .help("Spark rejects this only when the job starts; pick a multiple, or change `settings { batch = … }`"),
        );
        return None;
    }
    Some((ms, e.span))
}
