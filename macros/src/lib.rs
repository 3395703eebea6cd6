//! `stream!{ … }`: a flow pipeline written inside Rust; `flow!("file.flow")`: one read from
//! a file of the crate.
//!
//! Duty: render the macro's tokens to flow text with a table from byte ranges back to the
//! tokens, compile that text with `sluice-dsl`, and expand to the generated `Pipeline`
//! expression — or, on errors, to `compile_error!`s spanned on the user's own tokens and
//! an expression of the right type, so rustc adds no cascade of its own. For `flow!`, the
//! errors are `sluice check`'s rendering of the file, on the path literal, and the
//! expansion `include_str!`s the file so the crate rebuilds when it changes.
//! Invariant: the same text and the same diagnostic codes as a `.flow` file.
//! May depend on `sluice-dsl` (and proc-macro2/quote) only.

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

/// Compiles a flow pipeline; expands to a `sluice::Pipeline`.
///
/// ```ignore
/// let wc = sluice::stream! {
///     settings { batch = 1s }
///     socket("127.0.0.1", 9999) | flatMap split | map (w, 1) | reduceByKey + | print
/// };
/// ```
#[proc_macro]
pub fn stream(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(input.into()).into()
}

/// Compiles the flow file at a path relative to the crate's root (`CARGO_MANIFEST_DIR`);
/// expands to a `sluice::Pipeline`. The crate rebuilds when the file changes.
///
/// ```ignore
/// let wc = sluice::flow!("pipelines/wordcount.flow");
/// ```
#[proc_macro]
pub fn flow(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand_file(input.into()).into()
}

/// Every generated token at the path literal.
struct AtLiteral(Span);

impl sluice_dsl::SpanMap for AtLiteral {
    fn span(&self, _: sluice_dsl::Span) -> Span {
        self.0
    }
}

fn expand_file(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let (Some(TokenTree::Literal(lit)), None) = (tokens.next(), tokens.next()) else {
        return quote!(::std::compile_error!(
            "flow! takes one string literal: the path of a .flow file, relative to the crate"
        ));
    };
    let span = lit.span();
    let text = lit.to_string();
    let Some(rel) = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('\\'))
    else {
        return quote_spanned!(span=> ::std::compile_error!(
            "flow! takes a plain string literal: the path of a .flow file, relative to the crate"
        ));
    };
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let path = std::path::Path::new(&root).join(rel);
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("flow!: cannot read {}: {e}", path.display());
            return quote_spanned!(span=> ::std::compile_error!(#msg));
        }
    };
    let rt = quote!(::sluice::__private);
    let c = sluice_dsl::compile(&src, rt.clone(), &AtLiteral(span));
    let errors: Vec<&sluice_dsl::Diagnostic> =
        c.diagnostics.iter().filter(|d| d.is_error()).collect();
    let full = path.display().to_string();
    let track = quote_spanned!(span=> const _: &str = ::std::include_str!(#full););
    let warnings = c.diagnostics.iter().filter(|d| !d.is_error()).map(|d| {
        let note = format!("{rel}: {}", message(d, &src));
        quote_spanned!(span=> {
            #[deprecated(note = #note)]
            struct SluiceWarning;
            let _ = SluiceWarning;
        })
    });
    match c.graph {
        Some(g) if errors.is_empty() => {
            let pipeline = sluice_dsl::codegen::pipeline_expr(&g, &rt, "flow");
            quote!({ #track #(#warnings)* #pipeline })
        }
        _ => {
            let owned: Vec<sluice_dsl::Diagnostic> = errors.into_iter().cloned().collect();
            let msg = format!(
                "{} has errors:\n{}",
                rel,
                sluice_dsl::render(rel, &src, &owned)
            );
            quote_spanned!(span=> { #track ::std::compile_error!(#msg); ::std::unreachable!() })
        }
    }
}

/// The flow text of a token stream, and which token each byte range came from.
#[derive(Default)]
struct Rendered {
    text: String,
    spans: Vec<(usize, usize, Span)>,
    last_line: Option<usize>,
    /// Brace groups by the offset just after their `{`: embedded Rust blocks are spliced
    /// from these original tokens, keeping the user's spans.
    braces: Vec<(usize, TokenStream)>,
}

impl Rendered {
    fn push(&mut self, s: &str, span: Span, joint_before: bool) {
        let line = span.unwrap().line();
        match self.last_line {
            Some(prev) if line > prev => self.text.push('\n'),
            Some(_) if !joint_before => self.text.push(' '),
            _ => {}
        }
        self.last_line = Some(line);
        let start = self.text.len();
        self.text.push_str(s);
        self.spans.push((start, self.text.len(), span));
    }

    fn render(&mut self, tokens: TokenStream) {
        let mut joint = false;
        for tt in tokens {
            match tt {
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    self.push(open, g.span_open(), joint);
                    if g.delimiter() == Delimiter::Brace {
                        self.braces.push((self.text.len(), g.stream()));
                    }
                    self.render(g.stream());
                    self.push(close, g.span_close(), false);
                    joint = false;
                }
                TokenTree::Ident(i) => {
                    self.push(&i.to_string(), i.span(), joint);
                    joint = false;
                }
                TokenTree::Punct(p) => {
                    // A field access (`c.0`) is written without spaces around the dot.
                    let dot = p.as_char() == '.';
                    self.push(&p.as_char().to_string(), p.span(), joint || dot);
                    joint = dot || p.spacing() == Spacing::Joint;
                }
                TokenTree::Literal(l) => {
                    self.push(&l.to_string(), l.span(), joint);
                    joint = false;
                }
            }
        }
    }

    /// The token a byte offset falls in, or the nearest one before it.
    fn token_at(&self, offset: usize) -> Span {
        self.spans
            .iter()
            .rev()
            .find(|(s, _, _)| *s <= offset)
            .or(self.spans.first())
            .map(|t| t.2)
            .unwrap_or_else(Span::call_site)
    }

    /// The last token that starts before `end`.
    fn token_before(&self, end: usize) -> Span {
        self.spans
            .iter()
            .rev()
            .find(|(s, _, _)| *s < end)
            .map(|t| t.2)
            .unwrap_or_else(|| self.token_at(end))
    }
}

impl sluice_dsl::SpanMap for Rendered {
    fn span(&self, s: sluice_dsl::Span) -> Span {
        self.token_at(s.start)
    }

    fn rust_tokens(&self, code: sluice_dsl::Span) -> Option<TokenStream> {
        self.braces
            .iter()
            .find(|(start, _)| *start == code.start)
            .map(|(_, tokens)| tokens.clone())
    }
}

fn expand(input: TokenStream) -> TokenStream {
    let mut r = Rendered::default();
    r.render(input);
    let rt = quote!(::sluice::__private);
    let c = sluice_dsl::compile(&r.text, rt.clone(), &r);
    let errors: Vec<TokenStream> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let (first, last) = (
                r.token_at(d.primary.span.start),
                r.token_before(d.primary.span.end.max(d.primary.span.start + 1)),
            );
            let msg = message(d, &r.text);
            let head = quote_spanned!(first=> ::std::compile_error!);
            let args = quote_spanned!(last=> (#msg));
            quote!(#head #args;)
        })
        .collect();
    // A proc macro cannot warn on stable Rust; using an item deprecated with the
    // diagnostic as its note makes rustc warn, at the user's token, with our text.
    let warnings = c.diagnostics.iter().filter(|d| !d.is_error()).map(|d| {
        let note = message(d, &r.text);
        let at = r.token_at(d.primary.span.start);
        quote_spanned!(at=> {
            #[deprecated(note = #note)]
            struct SluiceWarning;
            let _ = SluiceWarning;
        })
    });
    match c.graph {
        Some(g) if errors.is_empty() => {
            let pipeline = sluice_dsl::codegen::pipeline_expr(&g, &rt, "stream");
            quote!({ #(#warnings)* #pipeline })
        }
        _ => quote!({ #(#errors)* ::std::unreachable!() }),
    }
}

/// A diagnostic as one message: code, message, label, notes quoting their source, help.
fn message(d: &sluice_dsl::Diagnostic, text: &str) -> String {
    let mut msg = format!("{}: {}", d.code, d.message);
    if !d.primary.text.is_empty() {
        msg.push_str(&format!("\n  label: {}", d.primary.text));
    }
    for l in &d.secondary {
        msg.push_str(&format!(
            "\n  note: {}: `{}`",
            l.text,
            text.get(l.span.start..l.span.end).unwrap_or("")
        ));
    }
    if let Some(h) = &d.help {
        msg.push_str(&format!("\n  help: {h}"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_path(path: &str) -> String {
        let lit = proc_macro2::Literal::string(path);
        expand_file(TokenTree::Literal(lit).into()).to_string()
    }

    #[test]
    fn a_file_with_errors_expands_to_its_rendered_diagnostics_and_still_tracks_the_file() {
        let out = expand_path("../tests/fixtures/not_a_pair.flow");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("flow::type::not_a_pair"), "{out}");
        assert!(out.contains("not_a_pair.flow:2:45"), "file:line:col: {out}");
        assert!(out.contains("include_str"), "the file is tracked: {out}");
        assert!(
            out.contains("unreachable"),
            "an expression of the right type: {out}"
        );
    }

    #[test]
    fn a_good_file_expands_to_a_pipeline_and_a_missing_one_is_a_clear_error() {
        let out = expand_path("../tests/fixtures/macro_counts.flow");
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("Pipeline"), "{out}");
        let out = expand_path("no/such.flow");
        assert!(out.contains("cannot read"), "{out}");
        let out = expand_file(quote!(42)).to_string();
        assert!(out.contains("string literal"), "{out}");
        let out = expand_file(quote!(a b)).to_string();
        assert!(out.contains("one string literal"), "{out}");
    }
}
