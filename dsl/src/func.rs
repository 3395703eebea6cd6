//! Functions given to operators — builtins, operator sections, templates and lambdas —
//! and the expressions inside them: their types and the Rust closures they become.

use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::types::Type;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use sluice_grammar::ast::{Args, BinOp, Expr, ExprKind, StageArg, UnOp};
use sluice_grammar::Span;
use std::collections::BTreeMap;

/// A builtin function: applied to the element (and any literal arguments).
struct Builtin {
    name: &'static str,
    input: Type,
    /// Types of the arguments written after the name: `split(",")`.
    extra: &'static [Type],
    output: fn() -> Type,
    code: fn(&TokenStream, TokenStream, &[TokenStream]) -> TokenStream,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "split",
        input: Type::String,
        extra: &[],
        output: || Type::List(Box::new(Type::String)),
        code: |rt, x, _| quote!(#rt::builtins::split(#x)),
    },
    Builtin {
        name: "split",
        input: Type::String,
        extra: &[Type::String],
        output: || Type::List(Box::new(Type::String)),
        code: |rt, x, a| {
            let sep = &a[0];
            quote!(#rt::builtins::split_on(#x, &#sep))
        },
    },
    Builtin {
        name: "lower",
        input: Type::String,
        extra: &[],
        output: || Type::String,
        code: |_, x, _| quote!((#x).to_lowercase()),
    },
    Builtin {
        name: "upper",
        input: Type::String,
        extra: &[],
        output: || Type::String,
        code: |_, x, _| quote!((#x).to_uppercase()),
    },
    Builtin {
        name: "trim",
        input: Type::String,
        extra: &[],
        output: || Type::String,
        code: |_, x, _| quote!((#x).trim().to_string()),
    },
    Builtin {
        name: "len",
        input: Type::String,
        extra: &[],
        output: || Type::I64,
        code: |_, x, _| quote!(((#x).chars().count() as i64)),
    },
    Builtin {
        name: "parse_int",
        input: Type::String,
        extra: &[],
        output: || Type::Option(Box::new(Type::I64)),
        code: |rt, x, _| quote!(#rt::builtins::parse_int(&#x)),
    },
    Builtin {
        name: "parse_float",
        input: Type::String,
        extra: &[],
        output: || Type::Option(Box::new(Type::F64)),
        code: |rt, x, _| quote!(#rt::builtins::parse_float(&#x)),
    },
];

pub(crate) fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|b| b.name == name)
}

/// A name bound inside a function body.
struct Binding {
    ty: Type,
    ident: proc_macro2::Ident,
    /// How many times the body uses it: a value used more than once is cloned.
    uses: usize,
}

type Env = BTreeMap<String, Binding>;

/// Lowers an operator's function argument, given the types of the values it is called
/// with; returns its result type and a closure. `what` names the operator for messages.
pub fn lower_fn(
    cx: &mut Cx,
    what: &str,
    stage_span: Span,
    arg: Option<&StageArg>,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    let Some(arg) = arg else {
        cx.report(
            Diagnostic::error("flow::arg::missing", stage_span, format!("`{what}` needs a function"))
                .label("no function given")
                .help(match params.len() {
                    2 => format!("give it an operator such as `{what} +`, or a lambda `{what} (a, b) => a + b`"),
                    _ => format!("give it a builtin such as `{what} split`, a template such as `{what} (w, 1)` or a lambda `{what} x => x`"),
                }),
        );
        return None;
    };
    let span = cx.span(arg.span());
    match arg {
        StageArg::Section(op, s)
        | StageArg::Expr(Expr {
            kind: ExprKind::Section(op),
            span: s,
        }) => section(cx, what, *op, *s, params),
        StageArg::Rust(r) => crate::rust_block::lower_closure(cx, what, r, params),
        StageArg::Expr(Expr {
            kind: ExprKind::Lambda(names, body, types),
            span: lspan,
        }) => lambda(cx, what, (names, types), body, *lspan, params),
        StageArg::Expr(Expr {
            kind: ExprKind::Name(n),
            span: nspan,
        }) if is_builtin(n) => builtin_fn(cx, n, &[], *nspan, params),
        StageArg::Expr(Expr {
            kind: ExprKind::Call(c),
            ..
        }) if is_builtin(&c.name.name)
            && c.args.args.iter().all(|a| {
                let mut names = Vec::new();
                free_names(&a.value, &mut names);
                names.is_empty()
            }) =>
        {
            let extra: Vec<&Expr> = c.args.args.iter().map(|a| &a.value).collect();
            builtin_fn(cx, &c.name.name, &extra, c.span, params)
        }
        StageArg::Args(args) => {
            let e = args_as_expr(args);
            template(cx, what, &e, params, span)
        }
        StageArg::Expr(e) => template(cx, what, e, params, span),
    }
}

/// `(a, b)` after an operator: a tuple template (or a parenthesised one for one item).
fn args_as_expr(args: &Args) -> Expr {
    if args.args.len() == 1 {
        let mut e = args.args[0].value.clone();
        e.span = args.span;
        return e;
    }
    Expr {
        kind: ExprKind::Tuple(args.args.iter().map(|a| a.value.clone()).collect()),
        span: args.span,
    }
}

fn section(
    cx: &mut Cx,
    what: &str,
    op: BinOp,
    s: Span,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    if params.len() != 2 || params[0] != params[1] {
        cx.report(
            Diagnostic::error(
                "flow::fn::arity",
                s,
                format!(
                    "`{}` combines two values, but `{what}` calls its function with one",
                    op.symbol()
                ),
            )
            .label("operator used as a function")
            .help("write a template such as `(w, 1)` or a lambda `x => x + 1`"),
        );
        return None;
    }
    let sp = cx.span(s);
    let (a, b) = (format_ident!("a", span = sp), format_ident!("b", span = sp));
    let ty = params[0].clone();
    let (out, body) = binary(cx, op, s, (&ty, quote!(#a)), (&ty, quote!(#b)))?;
    let rt_ty = ty.rust();
    Some((
        out,
        quote_spanned!(sp=> move |#a: #rt_ty, #b: #rt_ty| #body),
    ))
}

fn builtin_fn(
    cx: &mut Cx,
    name: &str,
    extra: &[&Expr],
    span: Span,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    let b = BUILTINS
        .iter()
        .find(|b| b.name == name && b.extra.len() == extra.len())
        .or_else(|| {
            cx.report(
                Diagnostic::error(
                    "flow::fn::arity",
                    span,
                    format!("builtin `{name}` does not take {} argument(s)", extra.len()),
                )
                .label("wrong number of arguments")
                .help(format!(
                    "`{name}` takes {}",
                    BUILTINS
                        .iter()
                        .filter(|b| b.name == name)
                        .map(|b| b.extra.len().to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            );
            None
        })?;
    if params.len() != 1 || params[0] != b.input {
        let got = Type::list(params);
        cx.report(
            Diagnostic::error(
                "flow::type::mismatch",
                span,
                format!("builtin `{name}` takes {}, but is given {got}", b.input),
            )
            .label(format!("expects {}", b.input))
            .help(format!(
                "apply `{name}` to a {} field, e.g. `map (w, n) => ({name}(w), n)`",
                b.input
            )),
        );
        return None;
    }
    let env = Env::new();
    let mut extra_code = Vec::new();
    for (e, want) in extra.iter().zip(b.extra) {
        let (t, code) = expr(cx, e, &env)?;
        if t != *want {
            return mismatch(cx, e.span, want, &t);
        }
        extra_code.push(code);
    }
    let sp = cx.span(span);
    let x = format_ident!("x", span = sp);
    let in_ty = b.input.rust();
    let body = (b.code)(&cx.rt, quote!(#x), &extra_code);
    Some(((b.output)(), quote_spanned!(sp=> move |#x: #in_ty| #body)))
}

fn lambda(
    cx: &mut Cx,
    what: &str,
    (names, types): (
        &[sluice_grammar::ast::Ident],
        &[Option<sluice_grammar::ast::TypeName>],
    ),
    body: &Expr,
    span: Span,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    let sp = cx.span(span);
    let mut env = Env::new();
    let mut pattern = Vec::new();
    let mut used = Vec::new();
    free_names(body, &mut used);
    let bind = |env: &mut Env, n: &sluice_grammar::ast::Ident, ty: &Type, cx: &Cx| {
        // A parameter the body ignores is bound as `_…`, so generated code warns of nothing.
        let ident = if used.iter().any(|(u, _)| *u == n.name) {
            format_ident!("v_{}", n.name, span = cx.span(n.span))
        } else {
            format_ident!("_v_{}", n.name, span = cx.span(n.span))
        };
        env.insert(
            n.name.clone(),
            Binding {
                ty: ty.clone(),
                ident: ident.clone(),
                uses: 0,
            },
        );
        ident
    };
    if names.len() == params.len() {
        for (n, ty) in names.iter().zip(params) {
            let ident = bind(&mut env, n, ty, cx);
            let t = ty.rust();
            pattern.push(quote!(#ident: #t));
        }
    } else if let [Type::Tuple(items)] = params {
        if items.len() != names.len() {
            return lambda_arity(cx, what, span, names.len(), params);
        }
        let idents: Vec<_> = names
            .iter()
            .zip(items)
            .map(|(n, ty)| bind(&mut env, n, ty, cx))
            .collect();
        let t = params[0].rust();
        pattern.push(quote!((#(#idents,)*): #t));
    } else {
        return lambda_arity(cx, what, span, names.len(), params);
    }
    // Type ascriptions must name the types the operator gives.
    let mut wrong = false;
    for (n, written) in names.iter().zip(types) {
        let (Some(written), Some(given)) = (written, env.get(&n.name).map(|b| b.ty.clone())) else {
            continue;
        };
        let plain = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        if plain(&written.text) != plain(&given.to_string()) {
            cx.report(
                Diagnostic::error(
                    "flow::type::ascription",
                    written.span,
                    format!(
                        "`{}` is written as {}, but `{what}` gives it {given}",
                        n.name, written.text
                    ),
                )
                .label(format!("{given} here"))
                .help(format!(
                    "write `{}: {given}`, or leave the type out",
                    n.name
                )),
            );
            wrong = true;
        }
    }
    if wrong {
        return None;
    }
    count_uses(body, &mut env);
    let (out, code) = expr(cx, body, &env)?;
    Some((out, quote_spanned!(sp=> move |#(#pattern),*| #code)))
}

fn lambda_arity(
    cx: &mut Cx,
    what: &str,
    span: Span,
    got: usize,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    let want = Type::list(params);
    cx.report(
        Diagnostic::error(
            "flow::fn::arity",
            span,
            format!("this lambda takes {got} parameter(s), but `{what}` calls it with {want}"),
        )
        .label(format!("called with {want}")),
    );
    None
}

fn template(
    cx: &mut Cx,
    what: &str,
    e: &Expr,
    params: &[Type],
    sp: proc_macro2::Span,
) -> Option<(Type, TokenStream)> {
    if params.len() != 1 {
        cx.report(
            Diagnostic::error(
                "flow::fn::arity",
                e.span,
                format!("a template takes one element, but `{what}` combines two values"),
            )
            .label("template")
            .help(format!(
                "write an operator such as `{what} +` or a lambda `{what} (a, b) => a + b`"
            )),
        );
        return None;
    }
    let mut free = Vec::new();
    free_names(e, &mut free);
    let mut distinct: Vec<(String, Span)> = Vec::new();
    for (n, s) in free {
        if !distinct.iter().any(|(d, _)| *d == n) {
            distinct.push((n, s));
        }
    }
    if distinct.len() > 1 {
        let mut d = Diagnostic::error(
            "flow::fn::template_names",
            distinct[1].1,
            format!(
                "a template binds one free name to the element, but this one has {}: {}",
                distinct.len(),
                distinct
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .label("second free name");
        d = d.also(distinct[0].1, "first free name");
        if let Some(b) = did_you_mean(&distinct[1].0, builtin_names()) {
            d = d.help(format!(
                "did you mean the builtin `{b}`? Otherwise use a lambda: `x => …`"
            ));
        } else {
            d = d.help("use a lambda to name several values: `(k, v) => …`");
        }
        cx.report(d);
        return None;
    }
    let mut env = Env::new();
    let x = match distinct.first() {
        Some((n, s)) => {
            let ident = format_ident!("v_{}", n, span = cx.span(*s));
            env.insert(
                n.clone(),
                Binding {
                    ty: params[0].clone(),
                    ident: ident.clone(),
                    uses: 0,
                },
            );
            ident
        }
        None => format_ident!("_unused", span = sp),
    };
    count_uses(e, &mut env);
    let (out, code) = expr(cx, e, &env)?;
    let t = params[0].rust();
    Some((out, quote_spanned!(sp=> move |#x: #t| #code)))
}

/// Checks that `t` (of the item at `span`) is the type of the items before it, recorded in
/// `elem` with where the first one was; reports a mismatch naming both.
pub(crate) fn one_type(
    cx: &mut Cx,
    elem: &mut Option<(Type, Span)>,
    t: Type,
    span: Span,
    rule: &str,
) -> Option<()> {
    match elem {
        Some((want, first)) if *want != t => {
            cx.report(
                Diagnostic::error(
                    "flow::type::mismatch",
                    span,
                    format!("{rule}: this is {t}, the first item {want}"),
                )
                .label(format!("this is {t}"))
                .also(*first, format!("this is {want}"))
                .help("every item of a list has the type of the first"),
            );
            None
        }
        Some(_) => Some(()),
        None => {
            *elem = Some((t, span));
            Some(())
        }
    }
}

/// Names used as values (not as function names) in `e`, in order of appearance.
fn free_names(e: &Expr, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Name(n) => out.push((n.clone(), e.span)),
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            items.iter().for_each(|i| free_names(i, out))
        }
        ExprKind::Call(c) => c.args.args.iter().for_each(|a| free_names(&a.value, out)),
        ExprKind::Field(inner, _) | ExprKind::Unary(_, inner) => free_names(inner, out),
        ExprKind::Binary(_, a, b) => {
            free_names(a, out);
            free_names(b, out);
        }
        ExprKind::If(c, t, f) => {
            free_names(c, out);
            free_names(t, out);
            free_names(f, out);
        }
        ExprKind::Lambda(..)
        | ExprKind::Section(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration(_) => {}
    }
}

fn count_uses(e: &Expr, env: &mut Env) {
    let mut names = Vec::new();
    free_names(e, &mut names);
    for (n, _) in names {
        if let Some(b) = env.get_mut(&n) {
            b.uses += 1;
        }
    }
}

fn mismatch<T>(cx: &mut Cx, span: Span, want: &Type, got: &Type) -> Option<T> {
    cx.report(
        Diagnostic::error(
            "flow::type::mismatch",
            span,
            format!("expected {want}, found {got}"),
        )
        .label(format!("this is {got}"))
        .help(format!("write an expression of type {want} here")),
    );
    None
}

/// Types and generates one expression.
fn expr(cx: &mut Cx, e: &Expr, env: &Env) -> Option<(Type, TokenStream)> {
    let sp = cx.span(e.span);
    Some(match &e.kind {
        ExprKind::Int(i) => {
            let lit = proc_macro2::Literal::i64_suffixed(*i);
            (Type::I64, quote_spanned!(sp=> #lit))
        }
        ExprKind::Float(f) => {
            let lit = proc_macro2::Literal::f64_suffixed(*f);
            (Type::F64, quote_spanned!(sp=> #lit))
        }
        ExprKind::Bool(b) => (Type::Bool, quote_spanned!(sp=> #b)),
        ExprKind::Duration(ms) => {
            let lit = proc_macro2::Literal::i64_suffixed(*ms as i64);
            (Type::I64, quote_spanned!(sp=> #lit))
        }
        ExprKind::Str(s) => (
            Type::String,
            quote_spanned!(sp=> ::std::string::String::from(#s)),
        ),
        ExprKind::Name(n) => match env.get(n) {
            Some(b) => {
                let ident = &b.ident;
                let code = if b.ty.is_copy() || b.uses <= 1 {
                    quote_spanned!(sp=> #ident)
                } else {
                    quote_spanned!(sp=> #ident.clone())
                };
                (b.ty.clone(), code)
            }
            None => {
                let mut d =
                    Diagnostic::error("flow::name::unknown", e.span, format!("unknown name `{n}`"))
                        .label("not bound here");
                if let Some(s) = did_you_mean(n, env.keys().map(String::as_str)) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else if is_builtin(n) {
                    d = d.help(format!(
                        "`{n}` is a builtin function: call it, as in `{n}(x)`"
                    ));
                } else {
                    let bound: Vec<&str> = env.keys().map(String::as_str).collect();
                    d = d.help(if bound.is_empty() {
                        "name the record first: `map x => …`".to_string()
                    } else {
                        format!("the names bound here are: {}", bound.join(", "))
                    });
                }
                cx.report(d);
                return None;
            }
        },
        ExprKind::Tuple(items) => {
            let mut types = Vec::new();
            let mut codes = Vec::new();
            for i in items {
                let (t, c) = expr(cx, i, env)?;
                types.push(t);
                codes.push(c);
            }
            (Type::Tuple(types), quote_spanned!(sp=> (#(#codes,)*)))
        }
        ExprKind::List(items) => {
            let mut elem: Option<(Type, Span)> = None;
            let mut codes = Vec::new();
            for i in items {
                let (t, c) = expr(cx, i, env)?;
                one_type(cx, &mut elem, t, i.span, "a list holds one type")?;
                codes.push(c);
            }
            let Some((t, _)) = elem else {
                cx.report(
                    Diagnostic::error(
                        "flow::type::empty_list",
                        e.span,
                        "the type of an empty list cannot be told here",
                    )
                    .label("empty")
                    .help(
                        "give it an item, or use it where its type is known (as in `queueStream`)",
                    ),
                );
                return None;
            };
            (
                Type::List(Box::new(t)),
                quote_spanned!(sp=> ::std::vec![#(#codes),*]),
            )
        }
        ExprKind::Field(inner, idx) => {
            let (t, c) = expr(cx, inner, env)?;
            match &t {
                Type::Tuple(items) if *idx < items.len() => {
                    let index = syn::Index {
                        index: *idx as u32,
                        span: sp,
                    };
                    (items[*idx].clone(), quote_spanned!(sp=> (#c).#index))
                }
                _ => {
                    cx.report(
                        Diagnostic::error(
                            "flow::type::no_field",
                            e.span,
                            format!("{t} has no field `.{idx}`"),
                        )
                        .label(format!("this is {t}"))
                        .help(match &t {
                            Type::Tuple(items) => format!(
                                "its fields are `.0` to `.{}`",
                                items.len().saturating_sub(1)
                            ),
                            _ => "fields `.0`, `.1`, … belong to tuples".to_string(),
                        }),
                    );
                    return None;
                }
            }
        }
        ExprKind::Unary(op, inner) => {
            let (t, c) = expr(cx, inner, env)?;
            match (op, &t) {
                (UnOp::Neg, Type::I64) => (t, quote_spanned!(sp=> (#c).wrapping_neg())),
                (UnOp::Neg, Type::F64) => (t, quote_spanned!(sp=> -(#c))),
                (UnOp::Not, Type::Bool) => (t, quote_spanned!(sp=> !(#c))),
                _ => {
                    let sym = if *op == UnOp::Neg { "-" } else { "!" };
                    cx.report(
                        Diagnostic::error(
                            "flow::type::operator",
                            e.span,
                            format!("`{sym}` cannot be applied to {t}"),
                        )
                        .label(format!("this is {t}"))
                        .help("`-` applies to i64 and f64, `!` to bool"),
                    );
                    return None;
                }
            }
        }
        ExprKind::Binary(op, a, b) => {
            let (ta, ca) = expr(cx, a, env)?;
            let (tb, cb) = expr(cx, b, env)?;
            return binary(cx, *op, e.span, (&ta, ca), (&tb, cb));
        }
        ExprKind::If(c, t, f) => {
            let (tc, cc) = expr(cx, c, env)?;
            if tc != Type::Bool {
                return mismatch(cx, c.span, &Type::Bool, &tc);
            }
            let (tt, ct) = expr(cx, t, env)?;
            let (tf, cf) = expr(cx, f, env)?;
            if tt != tf {
                cx.report(
                    Diagnostic::error(
                        "flow::type::mismatch",
                        f.span,
                        format!("`if` branches differ: {tt} and {tf}"),
                    )
                    .label(format!("this is {tf}"))
                    .also(t.span, format!("this is {tt}"))
                    .help("both branches of `if` must give the same type"),
                );
                return None;
            }
            (tt, quote_spanned!(sp=> if #cc { #ct } else { #cf }))
        }
        ExprKind::Call(c) => {
            let name = &c.name.name;
            let args: Vec<&Expr> = c.args.args.iter().map(|a| &a.value).collect();
            let Some((first, rest)) = args.split_first() else {
                cx.report(
                    Diagnostic::error(
                        "flow::fn::arity",
                        c.span,
                        format!("`{name}` needs an argument"),
                    )
                    .label("called with nothing"),
                );
                return None;
            };
            if !is_builtin(name) {
                let mut d = Diagnostic::error(
                    "flow::fn::unknown",
                    c.name.span,
                    format!("unknown function `{name}`"),
                )
                .label("not a builtin");
                if let Some(s) = did_you_mean(name, builtin_names()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                cx.report(d);
                return None;
            }
            let (t0, c0) = expr(cx, first, env)?;
            let (_, f) = builtin_fn(cx, name, rest, c.span, &[t0])?;
            let out = BUILTINS
                .iter()
                .find(|b| b.name == *name && b.extra.len() == rest.len())
                .map(|b| (b.output)())?;
            (out, quote_spanned!(sp=> (#f)(#c0)))
        }
        ExprKind::Section(op) => {
            cx.report(
                Diagnostic::error(
                    "flow::fn::section_as_value",
                    e.span,
                    format!("`{}` stands for a function here, not a value", op.symbol()),
                )
                .label("operator")
                .help(format!(
                    "apply it to values, as in `a {} b`, or pass it alone as the argument: `reduceByKey {}`",
                    op.symbol(),
                    op.symbol()
                )),
            );
            return None;
        }
        ExprKind::Lambda(..) => {
            cx.report(
                Diagnostic::error(
                    "flow::fn::nested_lambda",
                    e.span,
                    "a lambda cannot appear inside an expression",
                )
                .label("lambda")
                .help("a lambda is a whole argument: write `map x => …` and use `x` inside, or a Rust block `{ |x: T| … }`"),
            );
            return None;
        }
    })
}

fn binary(
    cx: &mut Cx,
    op: BinOp,
    span: Span,
    (ta, a): (&Type, TokenStream),
    (tb, b): (&Type, TokenStream),
) -> Option<(Type, TokenStream)> {
    let sp = cx.span(span);
    use BinOp::*;
    let bad = |cx: &mut Cx| {
        cx.report(
            Diagnostic::error(
                "flow::type::operator",
                span,
                format!("`{}` cannot combine {ta} and {tb}", op.symbol()),
            )
            .label(format!("{ta} {} {tb}", op.symbol()))
            .help("arithmetic takes two i64 or two f64 (`+` also joins two String), comparisons two values of one type, `&&` and `||` two bool"),
        );
        None
    };
    if ta != tb {
        return bad(cx);
    }
    Some(match (op, ta) {
        (Add, Type::I64) => (Type::I64, quote_spanned!(sp=> (#a).wrapping_add(#b))),
        (Sub, Type::I64) => (Type::I64, quote_spanned!(sp=> (#a).wrapping_sub(#b))),
        (Mul, Type::I64) => (Type::I64, quote_spanned!(sp=> (#a).wrapping_mul(#b))),
        (Add, Type::F64) => (Type::F64, quote_spanned!(sp=> (#a) + (#b))),
        (Sub, Type::F64) => (Type::F64, quote_spanned!(sp=> (#a) - (#b))),
        (Mul, Type::F64) => (Type::F64, quote_spanned!(sp=> (#a) * (#b))),
        (Div, Type::F64) => (Type::F64, quote_spanned!(sp=> (#a) / (#b))),
        (Add, Type::String) => (
            Type::String,
            quote_spanned!(sp=> { let mut s: ::std::string::String = #a; s.push_str(&#b); s }),
        ),
        (Div | Rem, Type::I64) => {
            cx.report(
                Diagnostic::error(
                    "flow::unsupported::int_division",
                    span,
                    "integer division is not supported by this version of Sluice",
                )
                .label("i64 division")
                .help("divide floats instead (`1.0`), or use an embedded Rust block once they are supported"),
            );
            return None;
        }
        (Eq, _) => (Type::Bool, quote_spanned!(sp=> (#a) == (#b))),
        (Ne, _) => (Type::Bool, quote_spanned!(sp=> (#a) != (#b))),
        (Lt | Le | Gt | Ge, Type::I64 | Type::F64 | Type::String) => {
            let o = match op {
                Lt => quote!(<),
                Le => quote!(<=),
                Gt => quote!(>),
                _ => quote!(>=),
            };
            (Type::Bool, quote_spanned!(sp=> (#a) #o (#b)))
        }
        (And, Type::Bool) => (Type::Bool, quote_spanned!(sp=> (#a) && (#b))),
        (Or, Type::Bool) => (Type::Bool, quote_spanned!(sp=> (#a) || (#b))),
        _ => return bad(cx),
    })
}

/// Lowers a constant argument (a setting, a sink parameter): a literal or `env("NAME",
/// "default")`, which is read when the pipeline starts. Returns its type and code.
pub fn constant(cx: &mut Cx, e: &Expr) -> Option<(Type, TokenStream)> {
    if let ExprKind::Call(c) = &e.kind {
        if c.name.name == "env" {
            let rt = cx.rt.clone();
            let strs: Vec<Option<String>> = c
                .args
                .args
                .iter()
                .map(|a| match &a.value.kind {
                    ExprKind::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            return match strs.as_slice() {
                [Some(name), Some(default)] => {
                    Some((Type::String, quote!(#rt::builtins::env_or(#name, #default))))
                }
                [Some(name)] => Some((Type::String, quote!(#rt::builtins::env_or(#name, "")))),
                _ => {
                    cx.report(
                        Diagnostic::error(
                            "flow::arg::type",
                            c.span,
                            "`env` takes a variable name and a default, both strings",
                        )
                        .label("here")
                        .help("e.g. `env(\"PG_URL\", \"postgresql://localhost/sluice\")`"),
                    );
                    None
                }
            };
        }
    }
    let mut free = Vec::new();
    free_names(e, &mut free);
    if let Some((n, s)) = free.first() {
        cx.report(
            Diagnostic::error(
                "flow::arg::not_constant",
                *s,
                format!("`{n}` is not known here: this argument must be a constant"),
            )
            .label("a name")
            .help("write a literal, such as `\"text\"`, `10` or `1s`"),
        );
        return None;
    }
    expr(cx, e, &Env::new())
}

/// Lowers a function combining two values of type `t` into one (`reduce`, `reduceByKey`
/// and their windowed forms): it must take and return `t`, which the stage at `from` gives.
pub fn lower_combiner(
    cx: &mut Cx,
    what: &str,
    stage_span: Span,
    arg: Option<&StageArg>,
    (t, from): (&Type, Span),
) -> Option<TokenStream> {
    let (out, f) = lower_fn(cx, what, stage_span, arg, &[t.clone(), t.clone()])?;
    if out != *t {
        let at = arg.map(StageArg::span).unwrap_or(stage_span);
        cx.report(
            Diagnostic::error(
                "flow::type::mismatch",
                at,
                format!("`{what}` needs a function returning {t}, but this returns {out}"),
            )
            .label(format!("returns {out}"))
            .also(from, format!("the values are {t} from here"))
            .help(format!(
                "`{what}` folds two {t} values into one {t}, e.g. `(a, b) => a + b`"
            )),
        );
        return None;
    }
    Some(f)
}

/// Lowers a function that must return a list (`flatMap`, `flatMapValues`, `mapPartitions`,
/// `transform`); returns the list's element type. `help` suggests the one-to-one operator.
pub fn lower_list_fn(
    cx: &mut Cx,
    what: &str,
    stage_span: Span,
    arg: Option<&StageArg>,
    params: &[Type],
    help: Option<&str>,
) -> Option<(Type, TokenStream)> {
    let (out, f) = lower_fn(cx, what, stage_span, arg, params)?;
    // An option is a list of at most one: `flatMap parse_int` keeps the numbers.
    let (Type::List(elem) | Type::Option(elem)) = out else {
        let at = arg.map(StageArg::span).unwrap_or(stage_span);
        let mut d = Diagnostic::error(
            "flow::type::not_a_list",
            at,
            format!("`{what}` needs a function returning a list, but this returns {out}"),
        )
        .label(format!("returns {out}"));
        if let Some(h) = help {
            d = d.help(h);
        }
        cx.report(d);
        return None;
    };
    Some((*elem, f))
}
