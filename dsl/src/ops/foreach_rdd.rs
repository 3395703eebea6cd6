//! `foreachRDD f`: a Rust closure run on every whole batch.

use super::{rust_block_arg, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::rust_block::lower_effect_closure;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "foreachRDD",
    kind: OpKind::Output,
    signature: "foreachRDD { |batch: Vec<T>| … }  or  { |batch: Vec<T>, time_ms: i64| … }",
    summary: "Runs an embedded Rust closure once per batch with all its records (and the batch \
              time in milliseconds), on the job's thread as Spark runs it on the driver. The \
              partitions it gathers are tasks, retried on failure; a panic in the closure \
              itself fails the batch, which is reported and skipped, to run again after a \
              restart (docs/semantics.md).",
    example: "socket(\"localhost\", 9999) | foreachRDD { |b: Vec<String>, t: i64| { println!(\"{t}: {}\", b.len()) } }",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let block = rust_block_arg(
        cx,
        stage,
        "an embedded Rust closure",
        "not a Rust closure",
        "foreachRDD { |batch: Vec<String>| { … } }",
    )?;
    let batch = Type::List(Box::new(input.ty.clone()));
    // One parameter (the batch) or two (and its time): the closure's own arity decides.
    let two = syn::parse_str::<syn::ExprClosure>(&block.code).is_ok_and(|c| c.inputs.len() == 2);
    let params = if two {
        vec![batch, Type::I64]
    } else {
        vec![batch]
    };
    let f = lower_effect_closure(cx, "foreachRDD", block, &params)?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let code = if two {
        quote_spanned!(sp=> #var.foreach_rdd(move |b, t| (#f)(b, t.millis() as i64)))
    } else {
        quote_spanned!(sp=> #var.foreach_rdd(move |b, _| (#f)(b)))
    };
    Some(Lowered { out: None, code })
}
