//! `union other`: the elements of this stream and of a named one.

use super::{named_stream, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

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
    let (name, other, span) = named_stream(cx, stage)?;
    if other.ty != input.ty {
        cx.report(
            Diagnostic::error("flow::type::mismatch", span, format!("`union` needs streams of one type, but this carries {} and `{name}` carries {}", input.ty, other.ty))
                .label(format!("carries {}", other.ty))
                .also(input.from, format!("this produces {}", input.ty))
                .help(format!("map one of them to the other's type first, e.g. `map` on `{name}`")),
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
