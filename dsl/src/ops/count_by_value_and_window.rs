//! `countByValueAndWindow(length, slide)`: each distinct element of the window, counted.

use super::window::{window_call, written_args};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::quote;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "countByValueAndWindow",
    kind: OpKind::Transform,
    signature: "countByValueAndWindow(length: duration, slide: duration) : T -> (T, i64)",
    summary: "Every `slide`, each distinct element of the last `length` with its number of \
              occurrences (`window` then `countByValue`; recomputed from the window's batches).",
    example: "socket(\"localhost\", 9999) | flatMap split | countByValueAndWindow(30s, 2s) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    if !input.ty.is_hashable() {
        cx.report(
            Diagnostic::error("flow::type::not_hashable", stage.op.span, format!("`countByValueAndWindow` groups equal elements, but {} cannot be compared exactly", input.ty))
                .label("contains a float")
                .also(input.from, format!("this produces {}", input.ty)),
        );
        return None;
    }
    let window = window_call(cx, stage, input, &written_args(stage), 0)?;
    Some(Lowered {
        out: Some(Type::Tuple(vec![input.ty.clone(), Type::I64])),
        code: quote!(#window.count_by_value()),
    })
}
