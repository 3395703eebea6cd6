//! The operator registry: one spec per operator, one operator per file.
//!
//! A spec names the operator as Spark does, says what it takes and makes, and lowers a
//! stage into typed Rust. The DSL reference in `docs/dsl.md` is generated from these
//! specs (`sluice docs`), and every example in it is compiled by a test.

pub(crate) mod args;
mod combine_by_key;
mod count;
mod count_by_value;
mod count_by_value_and_window;
mod count_by_window;
mod filter;
mod flat_map;
mod flat_map_values;
mod foreach_partition;
mod foreach_rdd;
mod glom;
mod group_by_key;
mod group_by_key_and_window;
mod jetstream;
mod join;
mod kafka;
mod map;
mod map_partitions;
mod map_values;
mod map_with_state;
mod nats;
mod print;
mod queue_stream;
mod receiver;
mod redis;
mod reduce;
mod reduce_by_key;
mod reduce_by_key_and_window;
mod reduce_by_window;
mod repartition;
mod save_as_text_files;
mod socket;
mod text_file_stream;
mod transform;
mod union;
mod update_state_by_key;
pub(crate) mod window;

use crate::cx::Cx;
use crate::types::Type;
use proc_macro2::TokenStream;
use sluice_grammar::ast::Stage;
use sluice_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Starts a pipeline.
    Source,
    /// Turns one stream into another.
    Transform,
    /// Ends a pipeline: an output operation, one job per batch.
    Output,
}

/// What flows into a stage: the stream's element type, where that type came from, and
/// the generated variable holding the stream.
#[derive(Clone)]
pub struct Input {
    pub ty: Type,
    pub from: Span,
    pub var: TokenStream,
    /// The id of the node producing it.
    pub node: usize,
}

/// A lowered stage: its output type (none for an output) and the Rust expression.
pub struct Lowered {
    pub out: Option<Type>,
    pub code: TokenStream,
}

pub struct OpSpec {
    pub name: &'static str,
    pub kind: OpKind,
    /// The signature as the reference shows it.
    pub signature: &'static str,
    /// What it does, in a sentence or two.
    pub summary: &'static str,
    /// A complete pipeline using it.
    pub example: &'static str,
    /// Checks the stage and generates its code; reports what is wrong to `cx`.
    pub lower: fn(&mut Cx, &Stage, Option<&Input>) -> Option<Lowered>,
}

/// Every operator, in the order the reference lists them.
pub const OPERATORS: &[&OpSpec] = &[
    &socket::SPEC,
    &text_file_stream::SPEC,
    &queue_stream::SPEC,
    &redis::SPEC,
    &nats::SPEC,
    &kafka::SPEC,
    &jetstream::SPEC,
    &receiver::SPEC,
    &map::SPEC,
    &flat_map::SPEC,
    &filter::SPEC,
    &map_partitions::SPEC,
    &glom::SPEC,
    &repartition::SPEC,
    &transform::SPEC,
    &union::SPEC,
    &count::SPEC,
    &reduce::SPEC,
    &count_by_value::SPEC,
    &map_values::SPEC,
    &flat_map_values::SPEC,
    &reduce_by_key::SPEC,
    &combine_by_key::SPEC,
    &group_by_key::SPEC,
    &join::JOIN,
    &join::LEFT_OUTER_JOIN,
    &join::RIGHT_OUTER_JOIN,
    &join::FULL_OUTER_JOIN,
    &join::COGROUP,
    &update_state_by_key::SPEC,
    &map_with_state::SPEC,
    &window::SPEC,
    &count_by_window::SPEC,
    &reduce_by_window::SPEC,
    &reduce_by_key_and_window::SPEC,
    &count_by_value_and_window::SPEC,
    &group_by_key_and_window::SPEC,
    &print::SPEC,
    &save_as_text_files::SPEC,
    &foreach_partition::SPEC,
    &foreach_rdd::SPEC,
];

/// Sources whose runtime support is an optional feature of `sluice-runtime`: a program
/// using one enables that feature.
pub const RUNTIME_FEATURES: &[(&str, &str)] = &[
    ("redis", "redis"),
    ("nats", "nats"),
    ("jetstream", "nats"),
    ("kafka", "kafka"),
];

/// A direct source's `start:` argument (\"earliest\" or \"latest\", at `position`), as
/// the statement that sets it on the source's `spec`; `None` after reporting.
pub(crate) fn start_at(cx: &mut Cx, stage: &Stage, position: usize) -> Option<TokenStream> {
    let rt = cx.rt.clone();
    Some(
        match args::choice(cx, stage, (position, "start"), &["earliest", "latest"])? {
            Some("earliest") => quote::quote!(spec.start = #rt::direct::StartAt::Earliest;),
            _ => TokenStream::new(),
        },
    )
}

/// The key and value types of a pair stream, or a `not_a_pair` diagnostic naming `op`.
pub(crate) fn expect_pair(
    cx: &mut Cx,
    op: &str,
    stage: &Stage,
    input: &Input,
) -> Option<(Type, Type)> {
    match input.ty.as_pair() {
        Some((k, v)) => {
            if !k.is_hashable() {
                cx.report(
                    crate::diagnostic::Diagnostic::error(
                        "flow::type::not_hashable",
                        stage.op.span,
                        format!(
                            "`{op}` groups by key, but keys of type {k} cannot be compared exactly"
                        ),
                    )
                    .label("key contains a float")
                    .also(input.from, format!("this produces {}", input.ty))
                    .help("key by a string or an integer instead"),
                );
                return None;
            }
            Some((k.clone(), v.clone()))
        }
        None => {
            cx.report(
                crate::diagnostic::Diagnostic::error(
                    "flow::type::not_a_pair",
                    stage.op.span,
                    format!(
                        "`{op}` needs a stream of (key, value) pairs, but this stream carries {}",
                        input.ty
                    ),
                )
                .label("needs (K, V) pairs")
                .also(input.from, format!("this produces {}", input.ty))
                .help("make pairs first, e.g. `map (w, 1)` to count words"),
            );
            None
        }
    }
}

/// The stream named by an operator's argument (`union other`, `join other`): resolved,
/// marked used, and returned with its name and where the name was written.
pub(crate) fn named_stream(cx: &mut Cx, stage: &Stage) -> Option<(String, Input, Span)> {
    use crate::diagnostic::{did_you_mean, Diagnostic};
    let op = &stage.op.name;
    let (name, span) = name_arg(
        cx,
        stage,
        "stream",
        &format!("name the other stream with `let other = …`, then write `{op} other`"),
    )?;
    let Some(other) = cx.streams.get(name).cloned() else {
        if cx.undefined_stream(name, span) {
            return None;
        }
        let mut d = Diagnostic::error(
            "flow::name::unknown",
            span,
            format!("no stream named `{name}`"),
        )
        .label("not defined before here");
        d = match did_you_mean(name, cx.streams.keys().map(String::as_str)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!("define it first: `let {name} = …`")),
        };
        cx.report(d);
        return None;
    };
    cx.used_streams.insert(name.clone());
    Some((name.clone(), other, span))
}

/// The name an operator takes as its argument (a stream's, a sink's) and where it is
/// written; otherwise reports that the operator takes `the name of a {what}`.
pub(crate) fn name_arg<'s>(
    cx: &mut Cx,
    stage: &'s Stage,
    what: &str,
    help: &str,
) -> Option<(&'s String, Span)> {
    use sluice_grammar::ast::{Expr, ExprKind, StageArg};
    if let Some(StageArg::Expr(Expr {
        kind: ExprKind::Name(name),
        span,
    })) = &stage.arg
    {
        return Some((name, *span));
    }
    cx.report(
        crate::diagnostic::Diagnostic::error(
            "flow::arg::shape",
            stage.arg_span(),
            format!("`{}` takes the name of a {what}", stage.op.name),
        )
        .label(format!("not a {what} name"))
        .help(help),
    );
    None
}

/// The embedded Rust block an operator takes as its argument; otherwise reports that it
/// `takes` one (`"an embedded Rust closure"`), with `label` and an `example` of the form.
pub(crate) fn rust_block_arg<'s>(
    cx: &mut Cx,
    stage: &'s Stage,
    takes: &str,
    label: &str,
    example: &str,
) -> Option<&'s sluice_grammar::ast::RustBlock> {
    if let Some(sluice_grammar::ast::StageArg::Rust(block)) = &stage.arg {
        return Some(block);
    }
    cx.report(
        crate::diagnostic::Diagnostic::error(
            "flow::arg::shape",
            stage.arg_span(),
            format!("`{}` takes {takes}", stage.op.name),
        )
        .label(label)
        .help(format!("e.g. `{example}`")),
    );
    None
}

/// `mapPartitions f` and `transform f`: `f` takes a list of records and returns one; the
/// stream calls `method` with it (per partition or per batch).
pub(crate) fn lower_records_fn(
    cx: &mut Cx,
    stage: &Stage,
    input: Option<&Input>,
    method: &str,
) -> Option<Lowered> {
    let input = input?;
    let (u, f) = crate::func::lower_list_fn(
        cx,
        &stage.op.name,
        stage.span,
        stage.arg.as_ref(),
        &[Type::List(Box::new(input.ty.clone()))],
        None,
    )?;
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    let method = quote::format_ident!("{}", method, span = sp);
    Some(Lowered {
        out: Some(u),
        code: quote::quote_spanned!(sp=> #var.#method(#f)),
    })
}

/// Reports an argument given to an operator that takes none.
pub(crate) fn no_argument(cx: &mut Cx, stage: &Stage) -> Option<()> {
    match &stage.arg {
        None => Some(()),
        Some(a) => {
            cx.report(
                crate::diagnostic::Diagnostic::error(
                    "flow::arg::extra",
                    a.span(),
                    format!("`{}` takes no argument", stage.op.name),
                )
                .label("unexpected")
                .help(format!("write `{}` alone", stage.op.name)),
            );
            None
        }
    }
}

/// A help line showing how `op` is written, from its spec.
pub(crate) fn usage(op: &str) -> String {
    match lookup(op) {
        Some(spec) => format!("`{op}` is written `{}`", spec.signature),
        None => "see the operator reference in docs/dsl.md".to_string(),
    }
}

pub fn lookup(name: &str) -> Option<&'static OpSpec> {
    OPERATORS.iter().copied().find(|op| op.name == name)
}

/// The operator reference as Markdown, generated from the specs (`docs/dsl.md` holds it).
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for (kind, title) in [
        (OpKind::Source, "Sources"),
        (OpKind::Transform, "Transformations"),
        (OpKind::Output, "Output operations"),
    ] {
        out.push_str(&format!("### {title}\n\n"));
        for op in OPERATORS.iter().filter(|o| o.kind == kind) {
            out.push_str(&format!(
                "#### `{}`\n\n`{}`\n\n{}\n\n```flow\n{}\n```\n\n",
                op.name, op.signature, op.summary, op.example
            ));
        }
    }
    out
}
