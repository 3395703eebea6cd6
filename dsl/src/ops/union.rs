//! `union other`: the elements of this stream and of a named one.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use quote::quote_spanned;
use sluice_grammar::ast::{Expr, ExprKind, Stage, StageArg};

pub const SPEC: OpSpec = OpSpec {
    name: "union",
    kind: OpKind::Transform,
    signature: "union other : T -> T",
    summary: "Per batch, the elements of this stream and of the stream named `other` (a `let`), \
              which must carry the same type.",
    example: "let a = socket(\"localhost\", 9998)\nsocket(\"localhost\", 9999) | union a | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let Some(StageArg::Expr(Expr {
        kind: ExprKind::Name(name),
        span,
    })) = &stage.arg
    else {
        cx.report(
            Diagnostic::error(
                "flow::arg::shape",
                stage.arg.as_ref().map(|a| a.span()).unwrap_or(stage.span),
                "`union` takes the name of a stream",
            )
            .label("not a stream name")
            .help("name the other stream with `let other = …`, then write `union other`"),
        );
        return None;
    };
    let Some(other) = cx.streams.get(name).cloned() else {
        let mut d = Diagnostic::error(
            "flow::name::unknown",
            *span,
            format!("no stream named `{name}`"),
        )
        .label("not defined before here");
        if let Some(s) = did_you_mean(name, cx.streams.keys().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        cx.report(d);
        return None;
    };
    cx.used_streams.insert(name.clone());
    if other.ty != input.ty {
        cx.report(
            Diagnostic::error("flow::type::mismatch", *span, format!("`union` needs streams of one type, but this carries {} and `{name}` carries {}", input.ty, other.ty))
                .label(format!("carries {}", other.ty))
                .also(input.from, format!("this produces {}", input.ty)),
        );
        return None;
    }
    let sp = cx.span(stage.op.span);
    let (var, other_var) = (&input.var, &other.var);
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.union(&#other_var)),
    })
}
