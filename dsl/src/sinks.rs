//! Sink declarations: `sink NAME = postgres(url: …, table: "t(key, value)")` or
//! `sink NAME = sqlite(path: …, table: "t(key, value)")`, each with an optional
//! `mode: "add" | "replace" | "append"`.

use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::ops::args::{bind, Param};
use crate::types::Type;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use sluice_grammar::ast::{Decl, ExprKind, Stage, StageArg};
use sluice_grammar::Span;

const KINDS: &[&str] = &["postgres", "sqlite"];
/// How rows land in the table (the runtime's `WriteMode`).
const MODES: &[&str] = &["add", "replace", "append"];

/// A checked sink declaration and the code that opens it when the pipeline starts.
#[derive(Clone, Debug)]
pub struct SinkDecl {
    pub name: String,
    pub kind: &'static str,
    pub key: String,
    pub value: String,
    pub table_span: Span,
    pub span: Span,
    pub code: TokenStream,
}

impl SinkDecl {
    /// The element type the sink stores: a key and a count.
    pub fn record_type(&self) -> Type {
        Type::Tuple(vec![Type::String, Type::I64])
    }

    pub fn columns_text(&self) -> String {
        format!("({} TEXT, {} BIGINT)", self.key, self.value)
    }

    /// `let sink_NAME = Arc::new(…)?;`
    pub fn binding(&self) -> TokenStream {
        let var = format_ident!("sink_{}", self.name);
        let code = &self.code;
        quote!(let #var = ::std::sync::Arc::new(#code?);)
    }
}

pub fn lower_sink(cx: &mut Cx, d: &Decl) -> Option<SinkDecl> {
    let kind = d.call.name.name.as_str();
    let Some(kind) = KINDS.iter().copied().find(|k| *k == kind) else {
        let mut diag = Diagnostic::error(
            "flow::sink::unknown_kind",
            d.call.name.span,
            format!("unknown kind of sink `{kind}`"),
        )
        .label("not a sink kind");
        diag = match did_you_mean(kind, KINDS.iter().copied()) {
            Some(s) => diag.help(format!(
                "did you mean `{s}`? Sinks are: {}",
                KINDS.join(", ")
            )),
            None => diag.help(format!("sinks are: {}", KINDS.join(", "))),
        };
        cx.report(diag);
        return None;
    };
    let as_stage = Stage {
        op: d.call.name.clone(),
        arg: Some(StageArg::Args(d.call.args.clone())),
        config: None,
        span: d.span,
    };
    let first = if kind == "postgres" { "url" } else { "path" };
    let mut params = vec![
        Param {
            name: first,
            ty: Type::String,
            required: true,
        },
        Param {
            name: "table",
            ty: Type::String,
            required: true,
        },
    ];
    params.push(Param {
        name: "mode",
        ty: Type::String,
        required: false,
    });
    if kind == "postgres" {
        params.push(Param {
            name: "poolSize",
            ty: Type::I64,
            required: false,
        });
    }
    let bound = bind(cx, &as_stage, &params)?;
    let table_arg = d
        .call
        .args
        .args
        .iter()
        .enumerate()
        .find(|(i, a)| {
            a.name
                .as_ref()
                .map(|n| n.name == "table")
                .unwrap_or(*i == 1)
        })
        .map(|(_, a)| &a.value)?;
    let ExprKind::Str(table) = &table_arg.kind else {
        cx.report(
            Diagnostic::error(
                "flow::sink::table",
                table_arg.span,
                "`table` must be a string literal: \"table(key, value)\"",
            )
            .label("not a literal"),
        );
        return None;
    };
    let Some((key, value)) = parse_table(table) else {
        cx.report(
            Diagnostic::error(
                "flow::sink::table",
                table_arg.span,
                format!("`{table}` is not of the form \"table(key, value)\""),
            )
            .label("expected a table name and two column names")
            .help("e.g. \"streaming_itemcount(item, count)\"; names are letters, digits and `_`"),
        );
        return None;
    };
    let mode = match crate::ops::args::written(&as_stage, 2, "mode") {
        None => "add",
        Some(e) => match &e.kind {
            ExprKind::Str(m) if MODES.contains(&m.as_str()) => {
                MODES.iter().copied().find(|x| x == m).expect("listed")
            }
            _ => {
                cx.report(
                    Diagnostic::error(
                        "flow::sink::mode",
                        e.span,
                        "`mode` is one of \"add\", \"replace\", \"append\"",
                    )
                    .label("not a mode")
                    .help(
                        "\"add\" adds each batch's value to the key's row (counts), \"replace\" \
                         overwrites it (state), \"append\" adds a row per record",
                    ),
                );
                return None;
            }
        },
    };
    let rt = &cx.rt;
    let name = d.name.name.as_str();
    let target = bound[0].clone()?;
    let mode = match mode {
        "replace" => quote!(#rt::sinks::WriteMode::Replace),
        "append" => quote!(#rt::sinks::WriteMode::Append),
        _ => quote!(#rt::sinks::WriteMode::Add),
    };
    let code = if kind == "postgres" {
        let pool = bound[3]
            .clone()
            .unwrap_or(quote!(ssc.settings().worker_threads as i64));
        quote!(#rt::sinks::Jdbc::postgres(ssc.io_handle(), #name, &#target, #table, (#pool) as usize, #mode)
            .map(|j| j.for_pipeline(&ssc.settings().app_name)))
    } else {
        quote!(#rt::sinks::Jdbc::sqlite(#name, &#target, #table, #mode)
            .map(|j| j.for_pipeline(&ssc.settings().app_name)))
    };
    Some(SinkDecl {
        name: name.to_string(),
        kind,
        key,
        value,
        table_span: table_arg.span,
        span: d.span,
        code,
    })
}

/// `name(key, value)` with plain SQL names; the runtime checks the same again.
fn parse_table(spec: &str) -> Option<(String, String)> {
    let (table, cols) = spec.trim().split_once('(')?;
    let cols = cols.trim().strip_suffix(')')?;
    let (key, value) = cols.split_once(',')?;
    let plain = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let (table, key, value) = (table.trim(), key.trim(), value.trim());
    (plain(table) && plain(key) && plain(value)).then(|| (key.to_string(), value.to_string()))
}
