//! `countByValue`: each distinct element of a batch with how often it occurs.

use super::{no_argument, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "countByValue",
    kind: OpKind::Transform,
    signature: "countByValue : T -> (T, i64)",
    summary: "Per batch, each distinct element paired with its number of occurrences — a word \
              count in one operator.",
    example: "socket(\"localhost\", 9999) | flatMap split | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    no_argument(cx, stage)?;
    if !input.ty.is_hashable() {
        cx.report(
            Diagnostic::error(
                "flow::type::not_hashable",
                stage.op.span,
                format!(
                    "`countByValue` groups equal elements, but {} cannot be compared exactly",
                    input.ty
                ),
            )
            .label("contains a float")
            .also(input.from, format!("this produces {}", input.ty)),
        );
        return None;
    }
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![input.ty.clone(), Type::I64])),
        code: quote_spanned!(sp=> #var.count_by_value()),
    })
}
