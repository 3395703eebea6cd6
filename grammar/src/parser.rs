//! The pest parser and the lowering of its pairs into the AST.
//!
//! Statements are parsed one at a time: when one fails, the error is recorded and parsing
//! resumes at the next line that starts a statement (a name in the first column), so one
//! typo does not hide every later mistake.

use crate::ast::*;
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "flow.pest"]
struct FlowParser;

/// A syntax error: where, what was found, and what would have been accepted there.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    /// What stands at `span` (empty at the end of input).
    pub found: String,
    /// Human names of what the grammar would have accepted, deduplicated, in order.
    pub expected: Vec<&'static str>,
    /// Set when the text matched the grammar but a literal in it is invalid.
    pub message: Option<String>,
}

/// The result of parsing: always a tree, plus every error found on the way.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Parsed {
    pub file: File,
    pub errors: Vec<ParseError>,
}

/// Parses a whole source text. Never panics; see the module docs for recovery.
pub fn parse(src: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut pos = skip_trivia(src, 0);
    while pos < src.len() {
        match FlowParser::parse(Rule::statement, &src[pos..]) {
            Ok(mut pairs) => {
                let stmt = pairs.next().expect("statement rule yields one pair");
                let end = pos + stmt.as_span().end();
                let mut lower = Lower {
                    base: pos,
                    errors: &mut out.errors,
                };
                if let Some(item) = lower.statement(stmt) {
                    out.file.items.push(item);
                }
                pos = skip_trivia(src, end.max(pos + 1));
            }
            Err(e) => {
                let at = pos
                    + match e.location {
                        pest::error::InputLocation::Pos(p) => p,
                        pest::error::InputLocation::Span((s, _)) => s,
                    };
                let (positives, _) = match &e.variant {
                    pest::error::ErrorVariant::ParsingError {
                        positives,
                        negatives,
                    } => (positives.clone(), negatives.clone()),
                    pest::error::ErrorVariant::CustomError { .. } => (vec![], vec![]),
                };
                out.errors.push(syntax_error(src, at, &positives));
                let mut next = next_statement_start(src, at);
                if next <= pos {
                    // The statement failed where it began: move past its first line.
                    next = next_statement_start(
                        src,
                        pos + src[pos..].chars().next().map_or(1, char::len_utf8),
                    );
                }
                pos = skip_trivia(src, next);
            }
        }
    }
    out
}

fn syntax_error(src: &str, at: usize, positives: &[Rule]) -> ParseError {
    let at = at.min(src.len());
    let rest = &src[at..];
    // The word at the error (letters, digits, `_`), or else its one character.
    let len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    let len = if len == 0 {
        rest.chars().next().map(char::len_utf8).unwrap_or(0)
    } else {
        len
    };
    let mut expected: Vec<&'static str> = Vec::new();
    for r in positives {
        let name = describe(*r);
        if !expected.contains(&name) {
            expected.push(name);
        }
    }
    ParseError {
        span: Span::new(at, at + len),
        found: rest[..len].to_string(),
        expected,
        message: None,
    }
}

fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::ident | Rule::lambda_params => "a name",
        Rule::stage | Rule::chain | Rule::pipeline => "an operator",
        Rule::stage_arg | Rule::paren_args | Rule::arg | Rule::call => "an argument",
        Rule::section | Rule::section_op | Rule::arg_section | Rule::infix => {
            "an operator such as `+`"
        }
        Rule::field | Rule::field_index => "a field such as `.0`",
        Rule::string | Rule::string_inner => "a string",
        Rule::int | Rule::float => "a number",
        Rule::duration => "a duration such as `1s`",
        Rule::setting => "a setting",
        Rule::rust_block | Rule::rust_body => "a Rust block",
        Rule::comma => "`,`",
        Rule::paren_close | Rule::close => "`)`",
        _ => "an expression",
    }
}

/// Where parsing resumes after an error: the next line whose first character starts a
/// statement (a letter or `_` in the first column), or the end of the text.
fn next_statement_start(src: &str, from: usize) -> usize {
    let starts_statement = |i: usize| {
        src[i..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    };
    if from > 0 && src.as_bytes().get(from - 1) == Some(&b'\n') && starts_statement(from) {
        return from;
    }
    let mut i = from;
    while let Some(nl) = src[i..].find('\n') {
        i += nl + 1;
        if starts_statement(i) {
            return i;
        }
    }
    src.len()
}

/// Skips whitespace and comments; an unterminated block comment runs to the end.
fn skip_trivia(src: &str, mut i: usize) -> usize {
    loop {
        let rest = &src[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            i += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            i += body.find("*/").map(|e| e + 4).unwrap_or(trimmed.len());
        } else {
            return i;
        }
    }
}

struct Lower<'e> {
    base: usize,
    errors: &'e mut Vec<ParseError>,
}

impl Lower<'_> {
    /// The pair's span without the whitespace pest's implicit skipping leaves at its end.
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        let trailing = s.as_str().len() - s.as_str().trim_end().len();
        Span::new(self.base + s.start(), self.base + s.end() - trailing)
    }

    fn invalid(&mut self, span: Span, found: &str, message: String) {
        self.errors.push(ParseError {
            span,
            found: found.to_string(),
            expected: vec![],
            message: Some(message),
        });
    }

    fn statement(&mut self, p: Pair<Rule>) -> Option<Item> {
        let inner = p.into_inner().next()?.into_inner().next()?;
        let span = self.span(&inner);
        Some(match inner.as_rule() {
            Rule::settings => Item::Settings(Settings {
                entries: inner.into_inner().map(|s| self.setting(s)).collect(),
                span,
            }),
            Rule::sink_decl | Rule::source_decl => {
                let is_sink = inner.as_rule() == Rule::sink_decl;
                let mut it = inner.into_inner();
                let name = self.ident(it.next()?);
                let call = self.call(it.next()?);
                let decl = Decl { name, call, span };
                if is_sink {
                    Item::Sink(decl)
                } else {
                    Item::Source(decl)
                }
            }
            Rule::let_stmt => {
                let mut it = inner.into_inner();
                let name = self.ident(it.next()?);
                let chain = self.chain(it.next()?);
                Item::Let(Let { name, chain, span })
            }
            Rule::pipeline => Item::Pipeline(self.chain(inner.into_inner().next()?)),
            _ => return None,
        })
    }

    fn setting(&mut self, p: Pair<Rule>) -> Setting {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("setting has a name"));
        let value = self.expr(it.next().expect("setting has a value"));
        Setting { name, value, span }
    }

    fn ident(&self, p: Pair<Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn chain(&mut self, p: Pair<Rule>) -> Chain {
        let span = self.span(&p);
        let stages = p.into_inner().map(|s| self.stage(s)).collect();
        Chain { stages, span }
    }

    fn stage(&mut self, p: Pair<Rule>) -> Stage {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let mut head = it.next().expect("stage has an operator");
        if head.as_rule() == Rule::op_bare {
            head = head.into_inner().next().expect("bare operator has a name");
        }
        let op = self.ident(head);
        let (mut arg, mut config) = (None, None);
        if let Some(next) = it.next() {
            if next.as_rule() == Rule::configured {
                for part in next.into_inner() {
                    match self.stage_arg(part) {
                        StageArg::Args(a) => config = Some(a),
                        other => arg = Some(other),
                    }
                }
            } else {
                arg = next.into_inner().next().map(|a| self.stage_arg(a));
            }
        }
        Stage {
            op,
            arg,
            config,
            span,
        }
    }

    fn stage_arg(&mut self, a: Pair<Rule>) -> StageArg {
        let aspan = self.span(&a);
        match a.as_rule() {
            Rule::section => {
                let sym = a.into_inner().next().expect("section has an operator");
                let span = self.span(&sym);
                StageArg::Section(BinOp::from_symbol(sym.as_str()).unwrap_or(BinOp::Add), span)
            }
            Rule::rust_block => {
                let body = a.into_inner().next().expect("rust block has a body");
                StageArg::Rust(RustBlock {
                    code: body.as_str().trim_end().to_string(),
                    code_span: self.span(&body),
                    span: aspan,
                })
            }
            Rule::paren_args => StageArg::Args(Args {
                args: a
                    .into_inner()
                    .filter(|x| x.as_rule() == Rule::arg)
                    .map(|x| self.arg(x))
                    .collect(),
                span: aspan,
            }),
            Rule::lambda => StageArg::Expr(self.lambda(a)),
            _ => StageArg::Expr(self.expr(a)),
        }
    }

    fn arg(&mut self, p: Pair<Rule>) -> Arg {
        let span = self.span(&p);
        let mut name = None;
        let mut value = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::ident => name = Some(self.ident(x)),
                Rule::lambda => value = Some(self.lambda(x)),
                Rule::arg_section => {
                    let span = self.span(&x);
                    let op = BinOp::from_symbol(x.as_str().trim()).unwrap_or(BinOp::Add);
                    value = Some(Expr {
                        kind: ExprKind::Section(op),
                        span,
                    });
                }
                _ => value = Some(self.expr(x)),
            }
        }
        Arg {
            name,
            value: value.expect("arg has a value"),
            span,
        }
    }

    fn call(&mut self, p: Pair<Rule>) -> Call {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let name = self.ident(it.next().expect("call has a name"));
        let args = it
            .filter(|x| x.as_rule() == Rule::arg)
            .map(|x| self.arg(x))
            .collect();
        Call {
            args: Args {
                args,
                span: Span::new(name.span.end, span.end),
            },
            name,
            span,
        }
    }

    fn lambda(&mut self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let (params, types) = it
            .next()
            .expect("lambda has parameters")
            .into_inner()
            .map(|param| {
                let mut parts = param.into_inner();
                let name = self.ident(parts.next().expect("a parameter has a name"));
                let ty = parts.next().map(|t| TypeName {
                    text: t.as_str().to_string(),
                    span: self.span(&t),
                });
                (name, ty)
            })
            .unzip();
        let body = self.expr(it.next().expect("lambda has a body"));
        Expr {
            kind: ExprKind::Lambda(params, Box::new(body), types),
            span,
        }
    }

    /// `expr = unary (infix unary)*`, folded by precedence climbing.
    fn expr(&mut self, p: Pair<Rule>) -> Expr {
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::infix => ops.push(BinOp::from_symbol(x.as_str()).unwrap_or(BinOp::Add)),
                _ => operands.push(self.unary(x)),
            }
        }
        let mut operands = operands.into_iter();
        let first = operands.next().expect("expression has an operand");
        let rest: Vec<(BinOp, Expr)> = ops.into_iter().zip(operands).collect();
        climb(first, &mut rest.into_iter().peekable(), 0)
    }

    fn unary(&mut self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let first = it.next().expect("unary has content");
        match first.as_rule() {
            Rule::prefix => {
                let op = if first.as_str() == "-" {
                    UnOp::Neg
                } else {
                    UnOp::Not
                };
                let operand = self.unary(it.next().expect("prefix has an operand"));
                Expr {
                    kind: ExprKind::Unary(op, Box::new(operand)),
                    span,
                }
            }
            _ => self.postfixed(first),
        }
    }

    fn postfixed(&mut self, p: Pair<Rule>) -> Expr {
        let mut it = p.into_inner();
        let mut e = self.primary(it.next().expect("postfixed has a primary"));
        for f in it {
            let fspan = self.span(&f);
            let idx_text = f.into_inner().next().map(|i| i.as_str()).unwrap_or("0");
            let idx = match idx_text.parse::<usize>() {
                Ok(i) => i,
                Err(_) => {
                    self.invalid(fspan, idx_text, "tuple field index is too large".into());
                    0
                }
            };
            let span = e.span.to(fspan);
            e = Expr {
                kind: ExprKind::Field(Box::new(e), idx),
                span,
            };
        }
        e
    }

    fn primary(&mut self, p: Pair<Rule>) -> Expr {
        let inner = p.into_inner().next().expect("primary has content");
        let span = self.span(&inner);
        let text = inner.as_str();
        let kind = match inner.as_rule() {
            Rule::if_expr => {
                let mut it = inner.into_inner().map(|x| self.expr(x));
                let (c, t, e) = (it.next(), it.next(), it.next());
                match (c, t, e) {
                    (Some(c), Some(t), Some(e)) => {
                        ExprKind::If(Box::new(c), Box::new(t), Box::new(e))
                    }
                    _ => ExprKind::Bool(false),
                }
            }
            Rule::tuple => {
                let trailing_comma = text[..text.len() - 1].trim_end().ends_with(',');
                let mut items: Vec<Expr> = inner.into_inner().map(|x| self.expr(x)).collect();
                if items.len() == 1 && !trailing_comma {
                    let mut only = items.pop().expect("one item");
                    only.span = span;
                    return only;
                }
                ExprKind::Tuple(items)
            }
            Rule::list => ExprKind::List(inner.into_inner().map(|x| self.expr(x)).collect()),
            Rule::duration => match parse_duration(text) {
                Some(ms) => ExprKind::Duration(ms),
                None => {
                    self.invalid(span, text, "duration is too large".into());
                    ExprKind::Duration(0)
                }
            },
            Rule::float => match text.parse::<f64>() {
                Ok(f) => ExprKind::Float(f),
                Err(_) => ExprKind::Float(0.0),
            },
            Rule::int => match text.parse::<i64>() {
                Ok(i) => ExprKind::Int(i),
                Err(_) => {
                    self.invalid(span, text, "integer literal does not fit in 64 bits".into());
                    ExprKind::Int(0)
                }
            },
            Rule::boolean => ExprKind::Bool(text == "true"),
            Rule::string => {
                let body = inner.into_inner().next().map(|b| b.as_str()).unwrap_or("");
                match unescape(body) {
                    Ok(s) => ExprKind::Str(s),
                    Err(bad) => {
                        self.invalid(span, text, format!("unknown escape `{bad}` in string"));
                        ExprKind::Str(String::new())
                    }
                }
            }
            Rule::call => ExprKind::Call(self.call(inner)),
            _ => ExprKind::Name(text.to_string()),
        };
        Expr { kind, span }
    }
}

fn climb(
    mut lhs: Expr,
    rest: &mut std::iter::Peekable<std::vec::IntoIter<(BinOp, Expr)>>,
    min_prec: u8,
) -> Expr {
    while let Some(&(op, _)) = rest.peek() {
        if op.precedence() < min_prec {
            break;
        }
        let (op, mut rhs) = rest.next().expect("peeked");
        while let Some(&(next, _)) = rest.peek() {
            if next.precedence() <= op.precedence() {
                break;
            }
            rhs = climb(rhs, rest, op.precedence() + 1);
        }
        let span = lhs.span.to(rhs.span);
        lhs = Expr {
            kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
            span,
        };
    }
    lhs
}

fn parse_duration(text: &str) -> Option<u64> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = text[..digits_end].parse().ok()?;
    let unit = match &text[digits_end..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Resolves `\n \t \r \0 \\ \" \'` and `\u{…}`; returns the offending escape otherwise.
fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(|| "\\".to_string())?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'u' => {
                let rest: String = chars.clone().collect();
                let hex = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .map(|(h, _)| h.to_string())
                    .ok_or_else(|| "\\u".to_string())?;
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("\\u{{{hex}}}"))?;
                out.push(ch);
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            other => return Err(format!("\\{other}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> File {
        let p = parse(src);
        assert!(p.errors.is_empty(), "unexpected errors: {:?}", p.errors);
        p.file
    }

    fn stages(src: &str) -> Vec<Stage> {
        match ok(src).items.into_iter().next() {
            Some(Item::Pipeline(c)) => c.stages,
            other => panic!("not a pipeline: {other:?}"),
        }
    }

    #[test]
    fn seed_pipeline_has_five_stages_with_their_arguments() {
        let src = r#"socket("master", 9999) | flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc"#;
        let s = stages(src);
        let names: Vec<&str> = s.iter().map(|s| s.op.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "socket",
                "flatMap",
                "map",
                "reduceByKey",
                "foreachPartition"
            ]
        );
        assert!(matches!(&s[0].arg, Some(StageArg::Args(a)) if a.args.len() == 2));
        assert!(
            matches!(&s[1].arg, Some(StageArg::Expr(Expr { kind: ExprKind::Name(n), .. })) if n == "split")
        );
        assert!(matches!(&s[2].arg, Some(StageArg::Args(a)) if a.args.len() == 2));
        assert!(matches!(&s[3].arg, Some(StageArg::Section(BinOp::Add, _))));
        let plus = src.find('+').unwrap();
        assert_eq!(s[3].arg.as_ref().unwrap().span(), Span::new(plus, plus + 1));
    }

    #[test]
    fn statements_split_on_lines_and_pipes_continue_them() {
        let f = ok("// word count\nsettings { batch = 500ms }\nsocket(\"h\", 1)\n  | print\nsocket(\"h\", 2) | print(5)\n");
        assert_eq!(f.items.len(), 3);
        match &f.items[0] {
            Item::Settings(s) => {
                assert_eq!(s.entries[0].name.name, "batch");
                assert_eq!(s.entries[0].value.kind, ExprKind::Duration(500));
            }
            other => panic!("{other:?}"),
        }
        match &f.items[1] {
            Item::Pipeline(c) => {
                assert_eq!(c.stages.len(), 2);
                assert!(c.stages[1].arg.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expressions_respect_precedence_and_lambdas_and_sections_parse() {
        let s = stages(
            "q | map x => x * 2 + 1 | filter (k, v) => v > 3 && k != \"a\" | reduce - | map (w)",
        );
        let Some(StageArg::Expr(Expr {
            kind: ExprKind::Lambda(p, body, _),
            ..
        })) = &s[1].arg
        else {
            panic!("{:?}", s[1].arg)
        };
        assert_eq!(p[0].name, "x");
        assert!(matches!(body.kind, ExprKind::Binary(BinOp::Add, _, _)));
        assert!(matches!(
            &s[2].arg,
            Some(StageArg::Expr(Expr { kind: ExprKind::Lambda(p, _, _), .. })) if p.len() == 2
        ));
        assert!(matches!(&s[3].arg, Some(StageArg::Section(BinOp::Sub, _))));
        assert!(matches!(&s[4].arg, Some(StageArg::Args(a)) if a.args.len() == 1));
    }

    #[test]
    fn sink_declaration_with_named_arguments() {
        let f = ok(r#"sink jdbc = postgres(url: env("PG_URL"), table: "t(item, count)")"#);
        let Item::Sink(d) = &f.items[0] else { panic!() };
        assert_eq!(d.name.name, "jdbc");
        assert_eq!(d.call.name.name, "postgres");
        assert_eq!(d.call.args.args[0].name.as_ref().unwrap().name, "url");
        assert!(
            matches!(&d.call.args.args[0].value.kind, ExprKind::Call(c) if c.name.name == "env")
        );
    }

    #[test]
    fn rust_blocks_keep_their_text_and_span() {
        let src = "q | map { |w: String| { w.len() as i64 } }";
        let s = stages(src);
        let Some(StageArg::Rust(r)) = &s[1].arg else {
            panic!()
        };
        assert_eq!(r.code.trim(), "|w: String| { w.len() as i64 }");
        assert_eq!(&src[r.code_span.start..r.code_span.end], r.code);
    }

    #[test]
    fn strings_unescape_and_bad_escapes_are_reported() {
        let s = stages(r#"q | saveAsTextFiles("a\tb\u{e9}")"#);
        let Some(StageArg::Args(a)) = &s[1].arg else {
            panic!()
        };
        assert_eq!(a.args[0].value.kind, ExprKind::Str("a\tb\u{e9}".into()));
        let bad = parse(r#"q | saveAsTextFiles("a\qb")"#);
        assert_eq!(bad.errors.len(), 1);
        assert!(bad.errors[0].message.as_deref().unwrap().contains("\\q"));
    }

    #[test]
    fn errors_are_located_and_parsing_resumes_at_the_next_statement() {
        let src = "socket(\"h\" 9) | print\nq | map (w, 1\nq | print\n";
        let p = parse(src);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!(&src[p.errors[0].span.start..p.errors[0].span.end], "9");
        assert_eq!(p.errors[1].span.start, src.find("\nq | print").unwrap() + 1);
        assert_eq!(p.file.items.len(), 1);
    }

    #[test]
    fn big_numbers_are_errors_not_panics() {
        let p = parse("q | print(99999999999999999999) | window 99999999999999999h");
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
    }

    /// A deterministic stand-in for the fuzzer in CI: token soup from the grammar's
    /// alphabet, checked for panics and for spans inside the text.
    #[test]
    fn token_soup_never_panics_and_spans_stay_in_bounds() {
        const TOKENS: &[&str] = &[
            "socket", "(", ")", "\"h\"", ",", "9", "|", "map", "flatMap", "split", "x", "=>", "+",
            "-", "*", "==", ".0", "{", "}", "\n", " ", "settings", "=", "1s", "let", "sink", ":",
            ";", "//c\n", "if", "then", "else", "true", "é", "\"", "\\", "/*", "1.5",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut src = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 24) {
                let r = seed
                    .rotate_left((k * 5) as u32)
                    .wrapping_mul(0x2545_f491_4f6c_dd1d);
                src.push_str(TOKENS[(r >> 33) as usize % TOKENS.len()]);
            }
            let p = parse(&src);
            for e in &p.errors {
                assert!(
                    e.span.end <= src.len() && e.span.start <= e.span.end,
                    "{src:?}: {e:?}"
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for src in [
            "",
            "|",
            "((((",
            "\"",
            "{",
            "settings {",
            "/* open",
            "q | map \u{0}",
            "é | ü",
            "q | map x =>",
            "let = ",
        ] {
            let _ = parse(src);
        }
    }
}
