//! `receiver { expr }`: the records of a custom receiver written in Rust.

use super::{rust_block_arg, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::rust_block::lower_expr_block;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "receiver",
    kind: OpKind::Source,
    signature: "receiver { <Rust expression implementing Receiver> } -> String",
    summary: "The records a custom receiver stores (Spark's `receiverStream`): the block is a \
              Rust expression whose value implements the runtime's `Receiver` trait — \
              `on_start` launches the work, which stores records through its context \
              (`store`, `store_many`, or `store_block` for a reliable source that \
              acknowledges after storing) and may ask to be restarted.",
    example: "receiver { ::sluice_runtime::receiver::SocketReceiver::with_delimiter(\"localhost\", 9999, b';') } | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let block = rust_block_arg(
        cx,
        stage,
        "a Rust expression in braces",
        "not a Rust block",
        "receiver { my_crate::MyReceiver::new() }",
    )?;
    let code = lower_expr_block(cx, "receiver", block)?;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> ssc.receiver_stream(#code)),
    })
}
