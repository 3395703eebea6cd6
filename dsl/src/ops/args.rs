//! Binding an operator's written arguments to its parameters.

use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::func;
use crate::types::Type;
use proc_macro2::TokenStream;
use sluice_grammar::ast::{Expr, Stage, StageArg};

pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
}

/// Binds string parameters: the `required` ones first, then the optional ones, in order.
/// Every value comes back as an expression of a type that derefs to `str`.
pub fn bind_strings(
    cx: &mut Cx,
    stage: &Stage,
    required: &[&'static str],
    optional: &[&'static str],
) -> Option<Vec<Option<TokenStream>>> {
    let params: Vec<Param> = required
        .iter()
        .map(|n| (n, true))
        .chain(optional.iter().map(|n| (n, false)))
        .map(|(name, required)| Param {
            name,
            ty: Type::String,
            required,
        })
        .collect();
    bind(cx, stage, &params)
}

/// Matches positional then named arguments to `params`; reports missing, unknown, extra
/// and mistyped arguments. Returns each parameter's lowered value, if given.
pub fn bind(cx: &mut Cx, stage: &Stage, params: &[Param]) -> Option<Vec<Option<TokenStream>>> {
    let op = &stage.op.name;
    let written: Vec<(Option<&sluice_grammar::ast::Ident>, &Expr)> = match &stage.arg {
        None => Vec::new(),
        Some(StageArg::Args(a)) => a.args.iter().map(|a| (a.name.as_ref(), &a.value)).collect(),
        Some(StageArg::Expr(e)) => vec![(None, e)],
        Some(other) => {
            cx.report(
                Diagnostic::error(
                    "flow::arg::shape",
                    other.span(),
                    format!("`{op}` takes arguments, not a function"),
                )
                .label("unexpected")
                .help(format!(
                    "write `{op}({})`",
                    params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )),
            );
            return None;
        }
    };
    let mut slots: Vec<Option<&Expr>> = vec![None; params.len()];
    let mut ok = true;
    for (i, (name, value)) in written.iter().enumerate() {
        let idx = match name {
            None if i < params.len() => i,
            None => {
                cx.report(
                    Diagnostic::error(
                        "flow::arg::extra",
                        value.span,
                        format!("`{op}` takes at most {} argument(s)", params.len()),
                    )
                    .label("extra argument")
                    .help(super::usage(op)),
                );
                ok = false;
                continue;
            }
            Some(n) => match params.iter().position(|p| p.name == n.name) {
                Some(idx) => idx,
                None => {
                    let mut d = Diagnostic::error(
                        "flow::arg::unknown",
                        n.span,
                        format!("`{op}` has no parameter `{}`", n.name),
                    )
                    .label("unknown parameter");
                    d = match did_you_mean(&n.name, params.iter().map(|p| p.name)) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(super::usage(op)),
                    };
                    cx.report(d);
                    ok = false;
                    continue;
                }
            },
        };
        slots[idx] = Some(value);
    }
    let mut out = Vec::new();
    for (p, slot) in params.iter().zip(slots) {
        match slot {
            None if p.required => {
                cx.report(
                    Diagnostic::error(
                        "flow::arg::missing",
                        stage.span,
                        format!("`{op}` needs `{}` ({})", p.name, p.ty),
                    )
                    .label(format!("`{}` not given", p.name)),
                );
                ok = false;
                out.push(None);
            }
            None => out.push(None),
            Some(e) => match func::constant(cx, e) {
                Some((t, code)) if t == p.ty => out.push(Some(code)),
                Some((t, _)) => {
                    cx.report(
                        Diagnostic::error(
                            "flow::arg::type",
                            e.span,
                            format!("`{}` of `{op}` must be {}, found {t}", p.name, p.ty),
                        )
                        .label(format!("this is {t}"))
                        .help(super::usage(op)),
                    );
                    ok = false;
                    out.push(None);
                }
                None => {
                    ok = false;
                    out.push(None);
                }
            },
        }
    }
    ok.then_some(out)
}

/// The expression written for parameter `name` (by name, or at `position`), if any.
pub fn written<'a>(stage: &'a Stage, position: usize, name: &str) -> Option<&'a Expr> {
    let args = match &stage.arg {
        Some(StageArg::Args(a)) => a
            .args
            .iter()
            .map(|a| (a.name.as_ref(), &a.value))
            .collect::<Vec<_>>(),
        Some(StageArg::Expr(e)) => vec![(None, e)],
        _ => return None,
    };
    args.into_iter()
        .enumerate()
        .find(|(i, (n, _))| n.map(|n| n.name == name).unwrap_or(*i == position))
        .map(|(_, (_, e))| e)
}

/// Reports an `flow::arg::range` error if the literal integer written for parameter
/// `name` (by name, or at `position`) lies outside `range`; a value that is not a literal
/// is left for the runtime. `None` after reporting.
pub fn check_int_range(
    cx: &mut Cx,
    stage: &Stage,
    (position, name): (usize, &str),
    range: std::ops::RangeInclusive<i64>,
    message: impl FnOnce(i64) -> String,
    label: &str,
) -> Option<()> {
    use sluice_grammar::ast::{ExprKind, UnOp};
    let Some(e) = written(stage, position, name) else {
        return Some(());
    };
    let n = match &e.kind {
        ExprKind::Int(v) => *v,
        ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
            ExprKind::Int(v) => v.wrapping_neg(),
            _ => return Some(()),
        },
        _ => return Some(()),
    };
    if range.contains(&n) {
        return Some(());
    }
    cx.report(
        Diagnostic::error("flow::arg::range", e.span, message(n))
            .label(label)
            .help(super::usage(&stage.op.name)),
    );
    None
}

/// The literal string written for parameter `name` (by name, or at `position`), which must
/// be one of `choices`: `Some(None)` when it is not written, `None` after reporting a
/// `flow::arg::choice` error (not one of them, or not a literal).
pub fn choice(
    cx: &mut Cx,
    stage: &Stage,
    (position, name): (usize, &str),
    choices: &[&'static str],
) -> Option<Option<&'static str>> {
    use sluice_grammar::ast::ExprKind;
    let Some(e) = written(stage, position, name) else {
        return Some(None);
    };
    if let ExprKind::Str(s) = &e.kind {
        if let Some(c) = choices.iter().find(|c| **c == s.as_str()) {
            return Some(Some(c));
        }
    }
    let listed: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
    cx.report(
        Diagnostic::error(
            "flow::arg::choice",
            e.span,
            format!("`{name}` is one of {}", listed.join(", ")),
        )
        .label("not one of them")
        .help(format!(
            "write one of them, e.g. `{name}: {}`",
            listed.first().map_or("\"…\"", String::as_str)
        )),
    );
    None
}
