//! `reduceByWindow(f, length, slide)`: the window's elements folded to one.

use super::window::{window_call, written_args};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::func::lower_combiner;
use quote::quote;
use sluice_grammar::ast::{Stage, StageArg};

pub const SPEC: OpSpec = OpSpec {
    name: "reduceByWindow",
    kind: OpKind::Transform,
    signature: "reduceByWindow(f: (T, T) -> T, length: duration, slide: duration) : T -> T",
    summary: "Every `slide`, all elements of the last `length` combined with `f` (`window` \
              then `reduce`).",
    example: "socket(\"localhost\", 9999) | map len(line) | reduceByWindow(+, 30s, 2s) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let args = written_args(stage);
    let t = input.ty.clone();
    let f_arg = args.first().map(|(_, e)| StageArg::Expr((*e).clone()));
    let f = lower_combiner(
        cx,
        "reduceByWindow",
        stage.span,
        f_arg.as_ref(),
        (&t, input.from),
    )?;
    let window = window_call(cx, stage, input, &args, 1)?;
    Some(Lowered {
        out: Some(t),
        code: quote!(#window.reduce(#f)),
    })
}
