//! Embedded Rust blocks, `{ |w: String| -> i64 { … } }`: opaque to the DSL except for the
//! closure's signature, which must fit the stream. The block's own tokens are spliced into
//! the generated code — in the macro with the user's spans, so rustc's errors inside the
//! block land on the user's tokens.

use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use proc_macro2::TokenStream;
use quote::ToTokens;
use sluice_grammar::ast::RustBlock;

/// Checks a closure block against the parameter types an operator calls it with; returns
/// its declared result type and its tokens.
pub fn lower_closure(
    cx: &mut Cx,
    what: &str,
    block: &RustBlock,
    params: &[Type],
) -> Option<(Type, TokenStream)> {
    let (closure, tokens) = checked_closure(cx, what, block, params)?;
    let syn::ReturnType::Type(_, ret) = &closure.output else {
        cx.report(
            Diagnostic::error(
                "flow::rust::return_type",
                block.span,
                "the closure's result type is needed to type the stream",
            )
            .label("no `-> T`")
            .help("declare it: `|w: String| -> i64 { … }`"),
        );
        return None;
    };
    let out = flow_type(cx, ret, block)?;
    Some((out, tokens))
}

/// Like [`lower_closure`], for a closure run for its effect (`foreachRDD`): it returns `()`.
pub fn lower_effect_closure(
    cx: &mut Cx,
    what: &str,
    block: &RustBlock,
    params: &[Type],
) -> Option<TokenStream> {
    let (closure, tokens) = checked_closure(cx, what, block, params)?;
    match &closure.output {
        syn::ReturnType::Type(_, t) if !matches!(&**t, syn::Type::Tuple(u) if u.elems.is_empty()) =>
        {
            cx.report(
                Diagnostic::error(
                    "flow::rust::return_type",
                    block.span,
                    format!(
                        "`{what}` runs its closure for its effect; it must not return `{}`",
                        t.to_token_stream()
                    ),
                )
                .label("returns a value"),
            );
            None
        }
        _ => Some(tokens),
    }
}

/// Checks a `mapWithState` closure, `|k: &K, v: Option<V>, state: &mut State<S>| -> U`;
/// returns S, U and its tokens.
pub fn lower_state_closure(
    cx: &mut Cx,
    block: &RustBlock,
    key: &Type,
    value: &Type,
) -> Option<(Type, Type, TokenStream)> {
    let what = "mapWithState";
    let bad = |cx: &mut Cx, message: String| {
        cx.report(
            Diagnostic::error("flow::rust::signature", block.span, message)
                .label("closure")
                .help(format!("write `{what} {{ |k: &{key}, v: Option<{value}>, state: &mut State<S>| -> U {{ … }} }}`")),
        );
        None
    };
    let Ok(closure) = syn::parse_str::<syn::ExprClosure>(&block.code) else {
        return bad(cx, "an embedded Rust block must be one closure".into());
    };
    let typed: Vec<&syn::Type> = closure
        .inputs
        .iter()
        .filter_map(|p| match p {
            syn::Pat::Type(pt) => Some(&*pt.ty),
            _ => None,
        })
        .collect();
    let [syn::Type::Reference(k), v, syn::Type::Reference(st)] = typed.as_slice() else {
        return bad(cx, format!("`{what}`'s closure takes three typed parameters: `&K`, `Option<V>` and `&mut State<S>`"));
    };
    let state = match &*st.elem {
        syn::Type::Path(p) if st.mutability.is_some() => {
            p.path
                .segments
                .last()
                .and_then(|seg| match (&seg.ident, &seg.arguments) {
                    (name, syn::PathArguments::AngleBracketed(a))
                        if name == "State" && a.args.len() == 1 =>
                    {
                        match &a.args[0] {
                            syn::GenericArgument::Type(t) => convert(t),
                            _ => None,
                        }
                    }
                    _ => None,
                })
        }
        _ => None,
    };
    let Some(state) = state else {
        return bad(
            cx,
            "the third parameter must be `&mut State<S>`, S a type a stream can carry".into(),
        );
    };
    let key_ok = convert(&k.elem).as_ref() == Some(key) && k.mutability.is_none();
    let value_ok = convert(v).as_ref() == Some(&Type::Option(Box::new(value.clone())));
    if !key_ok || !value_ok {
        return bad(
            cx,
            format!("`{what}` calls its closure with `&{key}` and `Option<{value}>`"),
        );
    }
    let syn::ReturnType::Type(_, ret) = &closure.output else {
        return bad(
            cx,
            "the closure's result type is needed to type the stream: add `-> U`".into(),
        );
    };
    let out = flow_type(cx, ret, block)?;
    let tokens = cx
        .spans
        .rust_tokens(block.code_span)
        .unwrap_or_else(|| closure.to_token_stream());
    Some((state, out, tokens))
}

/// The result type a closure block declares, if it parses and declares one a stream can
/// carry (for operators whose parameter types depend on it, like `updateStateByKey`).
pub fn declared_result(block: &RustBlock) -> Option<Type> {
    let closure = syn::parse_str::<syn::ExprClosure>(&block.code).ok()?;
    match &closure.output {
        syn::ReturnType::Type(_, t) => convert(t),
        syn::ReturnType::Default => None,
    }
}

/// Parses the block as one closure taking `params`.
/// The block's tokens: the user's own in the macro (with their spans), lexed from the text
/// in a `.flow` file.
fn block_tokens(cx: &mut Cx, block: &RustBlock) -> Option<TokenStream> {
    match cx.spans.rust_tokens(block.code_span) {
        Some(t) => Some(t),
        None => match block.code.parse::<TokenStream>() {
            Ok(t) => Some(t),
            Err(e) => {
                cx.report(
                    Diagnostic::error(
                        "flow::rust::syntax",
                        block.code_span,
                        format!("the Rust block does not lex: {e}"),
                    )
                    .label("not Rust")
                    .help("a Rust block holds Rust code with balanced brackets and closed strings"),
                );
                None
            }
        },
    }
}

/// A block that is one Rust expression (`receiver { MyReceiver::new() }`): its tokens,
/// after checking it parses as an expression. Its type is rustc's to check.
pub fn lower_expr_block(cx: &mut Cx, what: &str, block: &RustBlock) -> Option<TokenStream> {
    let tokens = block_tokens(cx, block)?;
    if let Err(e) = syn::parse2::<syn::Expr>(tokens.clone()) {
        cx.report(
            Diagnostic::error(
                "flow::rust::syntax",
                block.span,
                format!("the block of `{what}` must be one Rust expression: {e}"),
            )
            .label("not an expression")
            .help(format!("e.g. `{what} {{ MyReceiver::new() }}`")),
        );
        return None;
    }
    Some(tokens)
}

fn checked_closure(
    cx: &mut Cx,
    what: &str,
    block: &RustBlock,
    params: &[Type],
) -> Option<(syn::ExprClosure, TokenStream)> {
    let tokens = block_tokens(cx, block)?;
    let closure: syn::ExprClosure = match syn::parse2(tokens.clone()) {
        Ok(c) => c,
        Err(e) => {
            cx.report(
                Diagnostic::error(
                    "flow::rust::not_closure",
                    block.span,
                    format!("an embedded Rust block must be one closure: {e}"),
                )
                .label("not a closure")
                .help(format!("write `{what} {{ |x: T| -> U {{ … }} }}`")),
            );
            return None;
        }
    };
    if closure.inputs.len() != params.len() {
        let want = Type::list(params);
        cx.report(
            Diagnostic::error(
                "flow::fn::arity",
                block.span,
                format!(
                    "this closure takes {} parameter(s), but `{what}` calls it with {want}",
                    closure.inputs.len()
                ),
            )
            .label(format!("called with {want}")),
        );
        return None;
    }
    for (input, want) in closure.inputs.iter().zip(params) {
        if let syn::Pat::Type(pt) = input {
            let got = flow_type(cx, &pt.ty, block)?;
            if got != *want {
                cx.report(
                    Diagnostic::error(
                        "flow::type::mismatch",
                        block.span,
                        format!("this closure takes {got}, but `{what}` gives it {want}"),
                    )
                    .label(format!("`{}` is {got}", pt.pat.to_token_stream()))
                    .help(format!(
                        "declare the parameter as `{}: {want}`",
                        pt.pat.to_token_stream()
                    )),
                );
                return None;
            }
        }
    }
    Some((closure, tokens))
}

/// The flow type a Rust type names; `None` after reporting one a stream cannot carry.
fn flow_type(cx: &mut Cx, ty: &syn::Type, block: &RustBlock) -> Option<Type> {
    let converted = convert(ty);
    if converted.is_none() {
        cx.report(
            Diagnostic::error(
                "flow::rust::type",
                block.span,
                format!(
                    "streams carry String, i64, f64, bool, and tuples, Vec and Option of them, not `{}`",
                    ty.to_token_stream()
                ),
            )
            .label("unsupported type")
            .help("convert it inside the block, e.g. to `String` with `.to_string()` or to `i64` with `as i64`"),
        );
    }
    converted
}

fn convert(ty: &syn::Type) -> Option<Type> {
    match ty {
        syn::Type::Paren(p) => convert(&p.elem),
        syn::Type::Tuple(t) if !t.elems.is_empty() => Some(Type::Tuple(
            t.elems.iter().map(convert).collect::<Option<_>>()?,
        )),
        syn::Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match (last.ident.to_string().as_str(), &last.arguments) {
                ("String", syn::PathArguments::None) => Some(Type::String),
                ("i64", syn::PathArguments::None) => Some(Type::I64),
                ("f64", syn::PathArguments::None) => Some(Type::F64),
                ("bool", syn::PathArguments::None) => Some(Type::Bool),
                (wrapper @ ("Vec" | "Option"), syn::PathArguments::AngleBracketed(a))
                    if a.args.len() == 1 =>
                {
                    let syn::GenericArgument::Type(t) = &a.args[0] else {
                        return None;
                    };
                    let inner = Box::new(convert(t)?);
                    Some(if wrapper == "Vec" {
                        Type::List(inner)
                    } else {
                        Type::Option(inner)
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}
