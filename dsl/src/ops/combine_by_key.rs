//! `combineByKey(create, mergeValue, mergeCombiners)`: per key, values folded into a combiner.

use super::window::written_args;
use super::{expect_pair, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::func::lower_fn;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::{Stage, StageArg};

pub const SPEC: OpSpec = OpSpec {
    name: "combineByKey",
    kind: OpKind::Transform,
    signature: "combineByKey(create: V -> C, mergeValue: (C, V) -> C, mergeCombiners: (C, C) -> C) : (K, V) -> (K, C)",
    summary: "Within each batch, folds each key's values into a combiner of another type: \
              `create` starts one from a value, `mergeValue` adds a value to it, \
              `mergeCombiners` joins two (from different partitions).",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, len(w)) \
              | combineByKey(n => (n, 1), (c, n) => (c.0 + n, c.1 + 1), (a, b) => (a.0 + b.0, a.1 + b.1)) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let (k, v) = expect_pair(cx, "combineByKey", stage, input)?;
    let args = written_args(stage);
    if args.len() != 3 {
        cx.report(
            Diagnostic::error("flow::arg::missing", stage.span, format!("`combineByKey` takes three functions, not {}", args.len()))
                .label("createCombiner, mergeValue, mergeCombiners")
                .help("e.g. `combineByKey(v => (v, 1), (c, v) => (c.0 + v, c.1 + 1), (a, b) => (a.0 + b.0, a.1 + b.1))`"),
        );
        return None;
    }
    let arg = |i: usize| StageArg::Expr(args[i].1.clone());
    let (c, create) = lower_fn(
        cx,
        "combineByKey",
        stage.span,
        Some(&arg(0)),
        std::slice::from_ref(&v),
    )?;
    let (c1, merge_value) = lower_fn(
        cx,
        "combineByKey",
        stage.span,
        Some(&arg(1)),
        &[c.clone(), v],
    )?;
    let (c2, merge_combiners) = lower_fn(
        cx,
        "combineByKey",
        stage.span,
        Some(&arg(2)),
        &[c.clone(), c.clone()],
    )?;
    for (got, i) in [(c1, 1), (c2, 2)] {
        if got != c {
            cx.report(
                Diagnostic::error("flow::type::mismatch", args[i].1.span, format!("`combineByKey`'s functions must return the combiner type {c}, but this returns {got}"))
                    .label(format!("returns {got}"))
                    .also(args[0].1.span, format!("the combiner is {c}"))
                    .help(format!("make every function return {c}, the type the first one creates")),
            );
            return None;
        }
    }
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, c])),
        code: quote_spanned!(sp=> #var.combine_by_key(#create, #merge_value, #merge_combiners)),
    })
}
