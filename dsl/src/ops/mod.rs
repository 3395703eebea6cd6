//! The operator registry: one spec per operator, one operator per file.
//!
//! A spec names the operator as Spark does, says what it takes and makes, and lowers a
//! stage into typed Rust. The DSL reference in `docs/dsl.md` is generated from these
//! specs (`sluice docs`), and every example in it is compiled by a test.

pub(crate) mod args;
mod filter;
mod flat_map;
mod foreach_partition;
mod map;
mod print;
mod reduce_by_key;
mod save_as_text_files;
mod socket;

use crate::cx::Cx;
use crate::types::Type;
use proc_macro2::TokenStream;
use sluice_grammar::ast::Stage;
use sluice_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Starts a pipeline.
    Source,
    /// Turns one stream into another.
    Transform,
    /// Ends a pipeline: an output operation, one job per batch.
    Output,
}

/// What flows into a stage: the stream's element type, where that type came from, and
/// the generated variable holding the stream.
pub struct Input {
    pub ty: Type,
    pub from: Span,
    pub var: TokenStream,
    /// The id of the node producing it.
    pub node: usize,
}

/// A lowered stage: its output type (none for an output) and the Rust expression.
pub struct Lowered {
    pub out: Option<Type>,
    pub code: TokenStream,
}

pub struct OpSpec {
    pub name: &'static str,
    pub kind: OpKind,
    /// The signature as the reference shows it.
    pub signature: &'static str,
    /// What it does, in a sentence or two.
    pub summary: &'static str,
    /// A complete pipeline using it.
    pub example: &'static str,
    /// Checks the stage and generates its code; reports what is wrong to `cx`.
    pub lower: fn(&mut Cx, &Stage, Option<&Input>) -> Option<Lowered>,
}

/// Every operator, in the order the reference lists them.
pub const OPERATORS: &[&OpSpec] = &[
    &socket::SPEC,
    &map::SPEC,
    &flat_map::SPEC,
    &filter::SPEC,
    &reduce_by_key::SPEC,
    &print::SPEC,
    &save_as_text_files::SPEC,
    &foreach_partition::SPEC,
];

pub fn lookup(name: &str) -> Option<&'static OpSpec> {
    OPERATORS.iter().copied().find(|op| op.name == name)
}

/// The operator reference as Markdown, generated from the specs (`docs/dsl.md` holds it).
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for (kind, title) in [
        (OpKind::Source, "Sources"),
        (OpKind::Transform, "Transformations"),
        (OpKind::Output, "Output operations"),
    ] {
        out.push_str(&format!("### {title}\n\n"));
        for op in OPERATORS.iter().filter(|o| o.kind == kind) {
            out.push_str(&format!(
                "#### `{}`\n\n`{}`\n\n{}\n\n```flow\n{}\n```\n\n",
                op.name, op.signature, op.summary, op.example
            ));
        }
    }
    out
}
