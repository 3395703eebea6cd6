//! `window(length, slide)`: the batches of the last `length`, every `slide`.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
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
    let args: Vec<(Option<&str>, &Expr)> = match &stage.arg {
        Some(StageArg::Args(a)) => a
            .args
            .iter()
            .map(|a| (a.name.as_ref().map(|n| n.name.as_str()), &a.value))
            .collect(),
        Some(StageArg::Expr(e)) => vec![(None, e)],
        _ => {
            cx.report(
                Diagnostic::error(
                    "flow::arg::missing",
                    stage.span,
                    "`window` needs a length, and optionally a slide",
                )
                .label("no window length")
                .help("e.g. `window(30s, 2s)`"),
            );
            return None;
        }
    };
    if args.len() > 2 {
        cx.report(
            Diagnostic::error(
                "flow::arg::extra",
                args[2].1.span,
                "`window` takes a length and a slide",
            )
            .label("extra argument"),
        );
        return None;
    }
    let pick = |name: &str, pos: usize| {
        args.iter()
            .enumerate()
            .find(|(i, (n, _))| n.map(|n| n == name).unwrap_or(*i == pos))
            .map(|(_, (_, e))| *e)
    };
    let length = duration(cx, pick("length", 0), stage.span, "length")?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let len = length.0;
    let slide = match pick("slide", 1) {
        Some(e) => {
            let ms = duration(cx, Some(e), stage.span, "slide")?.0;
            quote!(::std::time::Duration::from_millis(#ms))
        }
        None => quote!(#var.slide()),
    };
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.window(::std::time::Duration::from_millis(#len), #slide)?),
    })
}

/// A duration literal that is a positive multiple of the batch interval.
fn duration(cx: &mut Cx, e: Option<&Expr>, stage: Span, what: &str) -> Option<(u64, Span)> {
    let Some(e) = e else {
        cx.report(
            Diagnostic::error(
                "flow::arg::missing",
                stage,
                format!("`window` needs its {what}"),
            )
            .label(format!("no {what}")),
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
