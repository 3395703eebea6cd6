//! `print` / `print(n)`: the first elements of every batch on standard output.

use super::args::{bind, check_int_range, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "print",
    kind: OpKind::Output,
    signature: "print(num: i64 = 10)",
    summary: "Prints the batch time and the first `num` elements of every batch, in Spark's \
              format (`(word,3)` for pairs, `...` when there are more).",
    example: "socket(\"localhost\", 9999) | flatMap split | print(5)",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let bound = bind(
        cx,
        stage,
        &[Param {
            name: "num",
            ty: Type::I64,
            required: false,
        }],
    )?;
    check_int_range(
        cx,
        stage,
        (0, "num"),
        0..=i64::MAX,
        |n| format!("cannot print {n} elements"),
        "negative",
    )?;
    let num = bound[0].clone().unwrap_or(quote!(10i64));
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: None,
        code: quote_spanned!(sp=> #var.print((#num) as usize)),
    })
}
