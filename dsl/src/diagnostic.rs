//! Diagnostics as data: raised with a code, spans and facts; turned into text only at the
//! edge (`render` for the CLI, `compile_error!` in the macro).

use sluice_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A span with what to say about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One finding about the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Stable, e.g. `flow::type::not_a_pair`; a `.flow` file and its `stream!` twin agree.
    pub code: &'static str,
    pub level: Level,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            primary: Label {
                span,
                text: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Sets the text under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.primary.text = text.into();
        self
    }

    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// The closest of `candidates` to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Line and column (both from 1, columns in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Renders diagnostics as text for a terminal or a snapshot: `file:line:col`, the source
/// with labels, and the help line. No colour, fixed width, so the output is stable.
pub fn render(file_name: &str, src: &str, diagnostics: &[Diagnostic]) -> String {
    use miette::{
        GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource,
    };
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for d in diagnostics {
        let (line, col) = line_col(src, d.primary.span.start);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            (!d.primary.text.is_empty()).then(|| d.primary.text.clone()),
            (
                d.primary.span.start,
                d.primary.span.end - d.primary.span.start,
            ),
        )];
        labels.extend(d.secondary.iter().map(|l| {
            LabeledSpan::new_with_span(
                Some(l.text.clone()),
                (l.span.start, l.span.end - l.span.start),
            )
        }));
        let mut m = MietteDiagnostic::new(format!("{file_name}:{line}:{col}: {}", d.message))
            .with_code(d.code)
            .with_severity(match d.level {
                Level::Error => miette::Severity::Error,
                Level::Warning => miette::Severity::Warning,
            })
            .with_labels(labels);
        if let Some(h) = &d.help {
            m = m.with_help(h.clone());
        }
        let report =
            miette::Report::new(m).with_source_code(NamedSource::new(file_name, src.to_string()));
        let _ = handler.render_report(&mut out, report.as_ref());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_and_positions() {
        assert_eq!(
            did_you_mean("flatmap", ["map", "flatMap", "filter"]),
            Some("flatMap")
        );
        assert_eq!(did_you_mean("zzz", ["map", "flatMap"]), None);
        assert_eq!(line_col("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_col("x", 0), (1, 1));
    }
}
