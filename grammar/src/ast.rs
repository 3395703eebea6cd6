//! The syntax tree. Plain data: no meaning is attached here, only shape and spans.

/// A byte range in the source text, `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole source file: its statements in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Settings(Settings),
    Sink(Decl),
    Source(Decl),
    Let(Let),
    Pipeline(Chain),
}

/// `settings { batch = 1s, blockInterval = 200ms }`
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub entries: Vec<Setting>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `sink jdbc = postgres(url: "…", table: "t(a, b)")` (and `source … = …`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: Ident,
    pub call: Call,
    pub span: Span,
}

/// `let counts = … | …`
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub chain: Chain,
    pub span: Span,
}

/// A type as written in an ascription (`(String, i64)`), with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeName {
    pub text: String,
    pub span: Span,
}

/// Stages joined by `|`.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub stages: Vec<Stage>,
    pub span: Span,
}

/// One operator application: `flatMap split`, `map (w, 1)`, `socket("h", 9)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub op: Ident,
    pub arg: Option<StageArg>,
    /// Settings written before a Rust closure argument: `mapWithState(timeout: 30s) { … }`.
    pub config: Option<Args>,
    pub span: Span,
}

impl Stage {
    /// Where the argument is, or the whole stage when it has none: where to point when the
    /// argument is wrong or missing.
    pub fn arg_span(&self) -> Span {
        self.arg.as_ref().map_or(self.span, StageArg::span)
    }
}

/// What follows an operator's name. Which shapes an operator accepts is the operator's
/// business (`sluice-dsl`), not the grammar's.
#[derive(Clone, Debug, PartialEq)]
pub enum StageArg {
    /// `(a, b, name: c)`: an argument list — or, for a function operator, a tuple template.
    Args(Args),
    /// A bare binary operator used as a function: `+`, `*`, `-`.
    Section(BinOp, Span),
    /// An expression: a builtin name, a call, a lambda, a template.
    Expr(Expr),
    /// `{ |w: String| … }`: embedded Rust, kept verbatim.
    Rust(RustBlock),
}

impl StageArg {
    pub fn span(&self) -> Span {
        match self {
            StageArg::Args(a) => a.span,
            StageArg::Section(_, s) => *s,
            StageArg::Expr(e) => e.span,
            StageArg::Rust(r) => r.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub args: Args,
    pub span: Span,
}

/// Embedded Rust source; `code_span` covers the text between the braces.
#[derive(Clone, Debug, PartialEq)]
pub struct RustBlock {
    pub code: String,
    pub code_span: Span,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 5,
        }
    }

    pub fn from_symbol(s: &str) -> Option<BinOp> {
        Some(match s {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Rem,
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "&&" => BinOp::And,
            "||" => BinOp::Or,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// The string's value, escapes resolved.
    Str(String),
    Bool(bool),
    /// A duration literal, in milliseconds.
    Duration(u64),
    Name(String),
    Tuple(Vec<Expr>),
    /// `[a, b, c]`: items of one type.
    List(Vec<Expr>),
    Call(Call),
    Field(Box<Expr>, usize),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Parameters, body, and each parameter's type ascription (`w: String`) if written.
    Lambda(Vec<Ident>, Box<Expr>, Vec<Option<TypeName>>),
    /// An operator standing for the function of two values, as an argument: `+`.
    Section(BinOp),
}
