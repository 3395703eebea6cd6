//! `filter f`: the elements for which `f` holds.

use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func::lower_fn;
use crate::types::Type;
use quote::{format_ident, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "filter",
    kind: OpKind::Transform,
    signature: "filter (f: T -> bool) : T -> T",
    summary: "Keeps the elements for which `f` is true.",
    example: "socket(\"localhost\", 9999) | flatMap split | filter w != \"the\" | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (out, f) = lower_fn(
        cx,
        "filter",
        stage.span,
        stage.arg.as_ref(),
        std::slice::from_ref(&input.ty),
    )?;
    if out != Type::Bool {
        let at = stage.arg_span();
        cx.report(
            Diagnostic::error(
                "flow::type::mismatch",
                at,
                format!("`filter` needs a condition (bool), but this is {out}"),
            )
            .label(format!("this is {out}"))
            .help("compare something, e.g. `filter (w, n) => n > 1`"),
        );
        return None;
    }
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let (x, ty) = (format_ident!("x", span = sp), input.ty.rust());
    // The runtime lends each element; the condition is written for owned values.
    let code = if input.ty.is_copy() {
        quote_spanned!(sp=> #var.filter(move |#x: &#ty| (#f)(*#x)))
    } else {
        quote_spanned!(sp=> #var.filter(move |#x: &#ty| (#f)(::std::clone::Clone::clone(#x))))
    };
    Some(Lowered {
        out: Some(input.ty.clone()),
        code,
    })
}
