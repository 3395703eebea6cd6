//! `repartition(n)`: the batch spread evenly over `n` partitions.

use super::args::{bind, literal_int, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "repartition",
    kind: OpKind::Transform,
    signature: "repartition(n: i64) : T -> T",
    summary: "Spreads each batch evenly over `n` partitions, so later operators run `n` ways \
              in parallel.",
    example: "socket(\"localhost\", 9999) | repartition(4) | flatMap split | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let bound = bind(
        cx,
        stage,
        &[Param {
            name: "n",
            ty: Type::I64,
            required: true,
        }],
    )?;
    if let Some((n, span)) = literal_int(stage, 0, "n") {
        if n < 1 {
            cx.report(
                Diagnostic::error(
                    "flow::arg::range",
                    span,
                    format!("cannot spread a batch over {n} partitions"),
                )
                .label("at least 1"),
            );
            return None;
        }
    }
    let n = bound[0].clone()?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(input.ty.clone()),
        code: quote_spanned!(sp=> #var.repartition((#n).max(1) as usize)),
    })
}
