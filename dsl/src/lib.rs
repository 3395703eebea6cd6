//! The Sluice compiler: from flow text to a checked DStream graph and typed Rust.
//!
//! Duty: resolve names and operators (`ops/`, one spec per file), infer every stream's
//! element type, report mistakes as [`Diagnostic`] data with stable codes and spans, and
//! generate Rust that calls `sluice-runtime` only. Invariants: never panics on any input;
//! a graph is produced only when there are no errors; generated code names the runtime
//! through the path it is given, so a pipeline binary never links the compiler.
//! May depend on `sluice-grammar`, syn/quote/proc-macro2, prettyplease and miette.

pub mod codegen;
pub mod cx;
pub mod diagnostic;
mod func;
pub mod graph;
pub mod ops;
pub(crate) mod rust_block;
pub mod settings;
pub mod sinks;
pub mod types;

pub use cx::{CallSite, SpanMap};
pub use diagnostic::{render, Diagnostic, Level};
pub use graph::Graph;
pub use sluice_grammar::Span;

use proc_macro2::TokenStream;

/// A compilation: the graph when there were no errors, and every diagnostic.
pub struct Compiled {
    pub graph: Option<Graph>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses, resolves and type-checks `src`; generated code refers to the runtime as `rt`.
/// The names an editor colours: operators, builtin functions and settings (the TextMate
/// grammar under `editors/` is generated from them).
pub fn vocabulary() -> [Vec<&'static str>; 3] {
    [
        ops::OPERATORS.iter().map(|o| o.name).collect(),
        func::builtin_names().collect(),
        settings::SETTINGS.iter().map(|s| s.0).collect(),
    ]
}

pub fn compile(src: &str, rt: TokenStream, spans: &dyn SpanMap) -> Compiled {
    let parsed = sluice_grammar::parse(src);
    let mut cx = cx::Cx::new(src, rt, spans);
    for e in &parsed.errors {
        cx.report(graph::syntax_diagnostic(e));
    }
    let g = graph::build(&mut cx, &parsed.file);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    Compiled {
        graph: ok.then_some(g),
        diagnostics,
    }
}

/// Compiles a `.flow` file into the `main.rs` of a pipeline program.
pub fn program(src: &str, name: &str, source_label: &str) -> Result<Program, Vec<Diagnostic>> {
    let c = analyze(src);
    match c.graph {
        Some(g) => Ok(Program {
            main_rs: codegen::program(&g, name, source_label),
            runtime_features: g.runtime_features(),
            warnings: c.diagnostics,
        }),
        None => Err(c.diagnostics),
    }
}

/// A pipeline as a program: its `main.rs`, the `sluice-runtime` features it needs (broker
/// clients are optional), and the warnings its compilation gave.
pub struct Program {
    pub main_rs: String,
    pub runtime_features: Vec<&'static str>,
    pub warnings: Vec<Diagnostic>,
}

/// Compiles `src` as the CLI does: spans at the call site, the runtime as `::sluice_runtime`.
pub fn analyze(src: &str) -> Compiled {
    compile(src, quote::quote!(::sluice_runtime), &CallSite)
}

/// Every diagnostic for `src`, as `sluice check` reports them.
pub fn check(src: &str) -> Vec<Diagnostic> {
    analyze(src).diagnostics
}
