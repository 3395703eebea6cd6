//! The lowering context every stage of the compiler threads through: the source, the
//! diagnostics found so far, where spans map to, and the runtime path generated code uses.

use crate::diagnostic::Diagnostic;
use crate::sinks::SinkDecl;
use proc_macro2::TokenStream;
use sluice_grammar::Span;
use std::collections::BTreeMap;

/// Maps a source byte span to the span generated tokens carry: the user's own tokens in
/// the macro, the call site for `.flow` files.
pub trait SpanMap {
    fn span(&self, s: Span) -> proc_macro2::Span;

    /// The original tokens of an embedded Rust block's text, where there are any (the
    /// macro's); `.flow` files lex the text instead.
    fn rust_tokens(&self, _code: Span) -> Option<proc_macro2::TokenStream> {
        None
    }
}

/// For `.flow` files: every generated token at the call site.
pub struct CallSite;

impl SpanMap for CallSite {
    fn span(&self, _: Span) -> proc_macro2::Span {
        proc_macro2::Span::call_site()
    }
}

pub struct Cx<'a> {
    pub src: &'a str,
    pub diags: Vec<Diagnostic>,
    /// Path to the runtime crate: `::sluice_runtime` or `::sluice::__private`.
    pub rt: TokenStream,
    pub spans: &'a dyn SpanMap,
    pub sinks: BTreeMap<String, SinkDecl>,
    /// Streams named by `let`, for operators that take a second stream (`union`).
    pub streams: BTreeMap<String, crate::ops::Input>,
    /// The batch interval the settings give (Spark's default 1s otherwise), in ms.
    pub batch_ms: u64,
    /// Named streams an operator argument used.
    pub used_streams: std::collections::BTreeSet<String>,
    /// Whether the settings name a checkpoint directory.
    pub checkpoint: bool,
}

impl<'a> Cx<'a> {
    pub fn new(src: &'a str, rt: TokenStream, spans: &'a dyn SpanMap) -> Self {
        Cx {
            src,
            diags: Vec::new(),
            rt,
            spans,
            sinks: BTreeMap::new(),
            streams: BTreeMap::new(),
            batch_ms: 1_000,
            used_streams: Default::default(),
            checkpoint: false,
        }
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn span(&self, s: Span) -> proc_macro2::Span {
        self.spans.span(s)
    }

    pub fn text(&self, s: Span) -> &'a str {
        self.src.get(s.start..s.end).unwrap_or("")
    }
}
