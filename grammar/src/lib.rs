//! The Sluice flow language: its pest grammar (`flow.pest`) and a spanned AST.
//!
//! Duty: turn source text into an [`ast::File`]. Invariants: every AST node carries the
//! byte [`Span`] it came from; [`parse`] never panics and never stops at the first error —
//! a statement that does not parse is reported and skipped, and parsing resumes at the
//! next statement. May depend on pest only: names, types and meaning belong to `sluice-dsl`.

pub mod ast;
mod parser;

pub use ast::Span;
pub use parser::{parse, ParseError, Parsed};
