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
    /// Every `let` of the file: its name's span and the stream names its chain uses.
    pub lets: BTreeMap<String, (Span, Vec<String>)>,
    /// The `let` being lowered.
    pub current_let: Option<String>,
    /// `let`s and sinks whose definition had an error: uses of them are not reported again.
    pub poisoned: std::collections::BTreeSet<String>,
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
            lets: BTreeMap::new(),
            current_let: None,
            poisoned: Default::default(),
        }
    }

    /// Whether `from`'s definition uses `to`, directly or through other `let`s.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                if let Some((_, uses)) = self.lets.get(&n) {
                    todo.extend(uses.iter().cloned());
                }
            }
        }
        false
    }

    /// Handles a use, at `span`, of stream `name` that is not (yet) defined: nothing more
    /// to say when its own definition failed; a cycle, or a use before the definition,
    /// when a later `let` defines it. True when it reported or stayed silent for a reason,
    /// false when the name is simply unknown.
    pub fn undefined_stream(&mut self, name: &str, span: Span) -> bool {
        if self.poisoned.contains(name) {
            return true;
        }
        let Some((def, _)) = self.lets.get(name).cloned() else {
            return false;
        };
        // Its use is reported here; not again as an unused stream.
        self.used_streams.insert(name.to_string());
        let line = self.src[..def.start.min(self.src.len())]
            .matches('\n')
            .count()
            + 1;
        let d = match self.current_let.clone() {
            Some(me) if self.reaches(name, &me) => Diagnostic::error(
                "flow::graph::cycle",
                span,
                format!("`{me}` uses `{name}`, which is defined from `{me}`: a cycle"),
            )
            .label(format!("`{name}` depends on `{me}`"))
            .also(def, format!("`{name}` is defined here"))
            .help(
                "a pipeline is an acyclic graph of streams; to carry values from batch to \
                 batch, keep them as state (`updateStateByKey`, `mapWithState`)",
            ),
            _ => Diagnostic::error(
                "flow::name::defined_later",
                span,
                format!("stream `{name}` is used before it is defined (line {line})"),
            )
            .label("not defined yet")
            .also(def, "defined here")
            .help(format!("move `let {name} = …` above its first use")),
        };
        self.report(d);
        true
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
