//! From the AST to the checked DStream graph: name resolution, operator lookup, types.

use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic, Level};
use crate::ops::{self, Input, OpKind, OPERATORS};
use crate::settings::lower_settings;
use crate::sinks::{lower_sink, SinkDecl};
use crate::types::Type;
use proc_macro2::TokenStream;
use quote::format_ident;
use sluice_grammar::ast::{Chain, File, Item, Let, Stage, StageArg};
use sluice_grammar::{ParseError, Span};
use std::collections::BTreeMap;

/// One operator application in the graph, typed and lowered.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: usize,
    pub op: &'static str,
    pub kind: OpKind,
    pub span: Span,
    /// The stage as written.
    pub label: String,
    /// The node whose stream it consumes; none for a source.
    pub input: Option<usize>,
    /// The element type of the stream it produces; none for an output.
    pub out: Option<Type>,
    /// The Rust expression computing it from its input's variable.
    pub code: TokenStream,
}

/// The checked graph: settings, sinks, and the pipelines (each a chain of nodes).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub settings: Vec<TokenStream>,
    pub sinks: Vec<SinkDecl>,
    pub pipelines: Vec<Vec<Node>>,
}

impl Graph {
    /// The optional `sluice-runtime` features the graph's sources need, sorted.
    pub fn runtime_features(&self) -> Vec<&'static str> {
        let mut f: Vec<&'static str> = self
            .pipelines
            .iter()
            .flatten()
            .filter_map(|n| {
                crate::ops::RUNTIME_FEATURES
                    .iter()
                    .find(|(op, _)| *op == n.op)
                    .map(|(_, feature)| *feature)
            })
            .collect();
        f.sort_unstable();
        f.dedup();
        f
    }

    /// The graph as a mermaid flowchart: each operator as written, each edge labelled with
    /// its element type (`sluice graph`).
    /// Every edge, from and to node ids, labelled with the element type it carries.
    fn typed_edges(&self) -> Vec<(usize, usize, String)> {
        let nodes: Vec<&Node> = self.pipelines.iter().flatten().collect();
        nodes
            .iter()
            .filter_map(|n| {
                let from = n.input?;
                let ty = nodes
                    .iter()
                    .find(|m| m.id == from)
                    .and_then(|m| m.out.as_ref())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Some((from, n.id, ty))
            })
            .collect()
    }

    /// The graph in Graphviz's DOT language: the same nodes and typed edges as
    /// [`Self::to_mermaid`] (`sluice graph --format dot`).
    pub fn to_dot(&self) -> String {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = String::from("digraph pipeline {\n    rankdir=LR;\n");
        for n in self.pipelines.iter().flatten() {
            let shape = match n.kind {
                OpKind::Source => "invhouse",
                OpKind::Transform => "box",
                OpKind::Output => "box3d",
            };
            out.push_str(&format!(
                "    n{} [label=\"{}\", shape={shape}];\n",
                n.id,
                quote(&n.label)
            ));
        }
        for (from, to, ty) in self.typed_edges() {
            out.push_str(&format!(
                "    n{from} -> n{to} [label=\"{}\"];\n",
                quote(&ty)
            ));
        }
        out.push_str("}\n");
        out
    }

    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for n in self.pipelines.iter().flatten() {
            let shape = match n.kind {
                OpKind::Source => ("[/", "/]"),
                OpKind::Transform => ("[", "]"),
                OpKind::Output => ("[[", "]]"),
            };
            let text = n.label.replace('"', "#quot;").replace('|', "#124;");
            out.push_str(&format!("    n{}{}\"{text}\"{}\n", n.id, shape.0, shape.1));
        }
        for (from, to, ty) in self.typed_edges() {
            out.push_str(&format!("    n{from} -->|\"{ty}\"| n{to}\n"));
        }
        out
    }
}

pub fn syntax_diagnostic(e: &ParseError) -> Diagnostic {
    match &e.message {
        Some(m) => {
            Diagnostic::error("flow::syntax::invalid_literal", e.span, m.clone())
                .label("invalid")
                .help("integers fit in i64; durations are a whole number with ms, s, m or h; strings escape `\\\"` and `\\\\`")
        }
        None => {
            let found = if e.found.is_empty() {
                "the end of the input".to_string()
            } else {
                format!("`{}`", e.found)
            };
            let expected = match e.expected.as_slice() {
                [] => String::new(),
                [one] => one.to_string(),
                many => format!(
                    "{} or {}",
                    many[..many.len() - 1].join(", "),
                    many[many.len() - 1]
                ),
            };
            let mut d = Diagnostic::error(
                "flow::syntax::unexpected",
                e.span,
                format!("unexpected {found}"),
            )
            .label(if expected.is_empty() {
                "unexpected here".to_string()
            } else {
                format!("expected {expected}")
            });
            d = d.help("a pipeline is stages joined by `|`, e.g. `socket(\"localhost\", 9999) | flatMap split | print`; arguments are comma-separated");
            d
        }
    }
}

/// Builds the graph from a parsed file, reporting into `cx`.
pub fn build(cx: &mut Cx, file: &File) -> Graph {
    let mut g = Graph::default();
    let mut settings_seen = false;
    // A named source declaration (`source lines = socket(host: "h", port: 9999)`) is a
    // `let` whose chain is that one source.
    let items: Vec<Item> = file
        .items
        .iter()
        .map(|item| match item {
            Item::Source(d) => Item::Let(Let {
                name: d.name.clone(),
                chain: Chain {
                    stages: vec![Stage {
                        op: d.call.name.clone(),
                        arg: Some(StageArg::Args(d.call.args.clone())),
                        config: None,
                        span: d.call.span,
                    }],
                    span: d.call.span,
                },
                span: d.span,
            }),
            other => other.clone(),
        })
        .collect();
    for item in &items {
        match item {
            Item::Sink(d) => {
                if cx.sinks.contains_key(&d.name.name) {
                    cx.report(
                        Diagnostic::error(
                            "flow::name::duplicate",
                            d.name.span,
                            format!("sink `{}` is declared twice", d.name.name),
                        )
                        .label("declared again here")
                        .also(cx.sinks[&d.name.name].span, "first declared here")
                        .help("give the second sink another name"),
                    );
                } else if let Some(s) = lower_sink(cx, d) {
                    cx.sinks.insert(s.name.clone(), s);
                } else {
                    // Its error is reported: its uses are not reported again.
                    cx.poisoned.insert(d.name.name.clone());
                }
            }
            Item::Settings(s) => {
                if settings_seen {
                    cx.report(
                        Diagnostic::error(
                            "flow::setting::duplicate",
                            s.span,
                            "a second `settings` block",
                        )
                        .label("merge it into the first")
                        .help("a file has one `settings { … }` block: move these entries into the first"),
                    );
                }
                settings_seen = true;
                lower_settings(cx, s, &mut g.settings);
            }
            Item::Source(_) | Item::Let(_) | Item::Pipeline(_) => {}
        }
    }
    // Every `let` and the names its chain uses, for cycle and use-before-definition
    // reports; the first definition of a name counts.
    for item in &items {
        if let Item::Let(l) = item {
            let uses = l
                .chain
                .stages
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match &s.arg {
                    None if i == 0 => Some(s.op.name.clone()),
                    Some(sluice_grammar::ast::StageArg::Expr(e)) => match &e.kind {
                        sluice_grammar::ast::ExprKind::Name(n) => Some(n.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            cx.lets
                .entry(l.name.name.clone())
                .or_insert((l.name.span, uses));
        }
    }
    let mut next_id = 0;
    let mut used_sinks = std::collections::BTreeSet::new();
    let mut streams: BTreeMap<String, Named> = BTreeMap::new();
    for item in &items {
        let (chain, bind) = match item {
            Item::Pipeline(chain) => (chain, None),
            Item::Let(l) => {
                if let Some(prev) = streams.get(&l.name.name) {
                    cx.report(
                        Diagnostic::error(
                            "flow::name::duplicate",
                            l.name.span,
                            format!("stream `{}` is defined twice", l.name.name),
                        )
                        .label("defined again here")
                        .also(prev.span, "first defined here")
                        .help("give the second stream another name"),
                    );
                    continue;
                }
                (&l.chain, Some(&l.name))
            }
            _ => continue,
        };
        for s in &chain.stages {
            if s.op.name == "foreachPartition" {
                if let Some(sluice_grammar::ast::StageArg::Expr(e)) = &s.arg {
                    if let sluice_grammar::ast::ExprKind::Name(n) = &e.kind {
                        used_sinks.insert(n.clone());
                    }
                }
            }
        }
        cx.current_let = bind.map(|b| b.name.clone());
        let lowered = pipeline(
            cx,
            &chain.stages,
            &mut next_id,
            &mut streams,
            bind.is_some(),
        );
        if let (None, Some(name)) = (&lowered, bind) {
            cx.poisoned.insert(name.name.clone());
        }
        if let Some((nodes, open)) = lowered {
            if let (Some(name), Some(input)) = (bind, open) {
                cx.streams.insert(name.name.clone(), input.clone());
                streams.insert(
                    name.name.clone(),
                    Named {
                        input,
                        span: name.span,
                        used: false,
                    },
                );
            }
            g.pipelines.push(nodes);
        }
    }
    for (name, s) in &streams {
        if !s.used && !cx.used_streams.contains(name) {
            let mut d = Diagnostic::error(
                "flow::graph::unused_stream",
                s.span,
                format!("stream `{name}` is never used"),
            )
            .label("defined here")
            .help(format!("use it as `{name} | print`, or remove it"));
            d.level = Level::Warning;
            cx.report(d);
        }
    }
    if !cx.checkpoint {
        let stateful: Vec<(Span, &str)> = g
            .pipelines
            .iter()
            .flatten()
            .filter(|n| matches!(n.op, "updateStateByKey" | "mapWithState"))
            .map(|n| (n.span, n.op))
            .collect();
        for (span, op) in stateful {
            let mut d = Diagnostic::error(
                "flow::state::no_checkpoint",
                span,
                format!("`{op}` keeps state, but there is no checkpoint directory: a restart starts it empty"),
            )
            .label("state kept in memory only")
            .help("add `checkpoint = \"some/dir\"` to the settings (Spark requires one here)");
            d.level = Level::Warning;
            cx.report(d);
        }
    }
    // Said only when nothing else is wrong: a broken pipeline is not a missing one.
    let other_errors = cx.diags.iter().any(Diagnostic::is_error);
    if !other_errors && items.iter().all(|i| !matches!(i, Item::Pipeline(_))) {
        cx.report(
            Diagnostic::error(
                "flow::graph::no_output",
                Span::new(0, 0),
                "no output operations: the file has no pipeline",
            )
            .label("nothing runs")
            .help("add a pipeline, e.g. `socket(\"localhost\", 9999) | flatMap split | print`"),
        );
    }
    for (name, s) in &cx.sinks {
        if used_sinks.contains(name) {
            g.sinks.push(s.clone());
        }
    }
    let unused: Vec<SinkDecl> = cx
        .sinks
        .values()
        .filter(|s| !used_sinks.contains(&s.name))
        .cloned()
        .collect();
    for s in unused {
        let mut d = Diagnostic::error(
            "flow::sink::unused",
            s.span,
            format!("sink `{}` is never written to", s.name),
        )
        .label("declared here")
        .help(format!(
            "write to it with `| foreachPartition {}`, or remove it",
            s.name
        ));
        d.level = Level::Warning;
        cx.report(d);
    }
    g
}

/// A stream named with `let`.
struct Named {
    input: Input,
    span: Span,
    used: bool,
}

fn unknown_op(cx: &mut Cx, stage: &Stage, streams: &BTreeMap<String, Named>, first: bool) {
    let name = &stage.op.name;
    let mut d = Diagnostic::error(
        "flow::op::unknown",
        stage.op.span,
        format!("unknown operator `{name}`"),
    )
    .label("not an operator");
    let stream_names = streams.keys().map(String::as_str).filter(|_| first);
    if let Some(s) = did_you_mean(name, OPERATORS.iter().map(|o| o.name).chain(stream_names)) {
        d = d.help(format!("did you mean `{s}`?"));
    } else {
        d = d.help(format!(
            "operators are: {}",
            OPERATORS
                .iter()
                .map(|o| o.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    cx.report(d);
}

/// Lowers one chain; stops at its first error so one mistake is reported once. An `open`
/// chain (a `let`) may end in a stream, which is returned.
fn pipeline(
    cx: &mut Cx,
    stages: &[Stage],
    next_id: &mut usize,
    streams: &mut BTreeMap<String, Named>,
    open: bool,
) -> Option<(Vec<Node>, Option<Input>)> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut input: Option<Input> = None;
    let mut stages = stages;
    if let Some(first) = stages.first() {
        if let (None, Some(named)) = (&first.arg, streams.get_mut(&first.op.name)) {
            named.used = true;
            input = Some(Input {
                ty: named.input.ty.clone(),
                from: named.input.from,
                var: named.input.var.clone(),
                node: named.input.node,
            });
            stages = &stages[1..];
        }
    }
    let continuing = input.is_some();
    for (i, stage) in stages.iter().enumerate() {
        let Some(spec) = ops::lookup(&stage.op.name) else {
            let bare_first = i == 0 && !continuing && stage.arg.is_none();
            if !(bare_first && cx.undefined_stream(&stage.op.name, stage.op.span)) {
                unknown_op(cx, stage, streams, i == 0 && !continuing);
            }
            return None;
        };
        let i = if continuing { i + 1 } else { i };
        match (i, spec.kind) {
            (0, OpKind::Source) => {}
            (0, _) => {
                cx.report(
                    Diagnostic::error(
                        "flow::op::not_a_source",
                        stage.op.span,
                        format!(
                            "a pipeline starts with a source, but `{}` needs an input stream",
                            spec.name
                        ),
                    )
                    .label("needs an input")
                    .help("start with a source, e.g. `socket(\"localhost\", 9999) | …`"),
                );
                return None;
            }
            (_, OpKind::Source) => {
                cx.report(
                    Diagnostic::error(
                        "flow::op::source_in_middle",
                        stage.op.span,
                        format!(
                            "`{}` is a source and cannot take an input stream",
                            spec.name
                        ),
                    )
                    .label("source after `|`")
                    .help("start a new pipeline with it, on its own line"),
                );
                return None;
            }
            _ => {}
        }
        if let Some(prev) = nodes.last() {
            if prev.kind == OpKind::Output {
                cx.report(
                    Diagnostic::error(
                        "flow::op::after_output",
                        stage.op.span,
                        format!("`{}` produces no stream, so nothing can follow it", prev.op),
                    )
                    .label("follows an output")
                    .also(prev.span, "output operation")
                    .help("to send a stream to two outputs, name it: `let s = …` then `s | print` and `s | …`"),
                );
                return None;
            }
        }
        if let (Some(config), false) = (&stage.config, spec.name == "mapWithState") {
            cx.report(
                Diagnostic::error(
                    "flow::arg::shape",
                    config.span,
                    format!("`{}` takes no settings before its argument", spec.name),
                )
                .label("unexpected settings"),
            );
            return None;
        }
        let lowered = (spec.lower)(cx, stage, input.as_ref())?;
        let id = *next_id;
        *next_id += 1;
        let from = input.as_ref().map(|i| i.node);
        if let Some(out) = &lowered.out {
            let var = format_ident!("s{}", id);
            input = Some(Input {
                ty: out.clone(),
                from: stage.span,
                var: quote::quote!(#var),
                node: id,
            });
        }
        nodes.push(Node {
            id,
            op: spec.name,
            kind: spec.kind,
            span: stage.span,
            label: cx.text(stage.span).to_string(),
            input: from,
            out: lowered.out,
            code: lowered.code,
        });
    }
    let Some(last) = nodes.last() else {
        return Some((nodes, input));
    };
    if open {
        if last.kind == OpKind::Output {
            cx.report(
                Diagnostic::error(
                    "flow::graph::let_output",
                    last.span,
                    "a `let` names a stream, but this chain ends in an output operation",
                )
                .label("produces no stream")
                .help("drop the `let`, or move the output to a pipeline that uses the stream"),
            );
            return None;
        }
        return Some((nodes, input));
    }
    if last.kind != OpKind::Output {
        cx.report(
            Diagnostic::error("flow::graph::no_output", last.span, "this pipeline ends without an output operation, so it would compute nothing")
                .label(format!("a stream of {} that goes nowhere", last.out.as_ref().map(ToString::to_string).unwrap_or_default()))
                .help("end it with an output such as `| print`, `| saveAsTextFiles(\"out/x\")` or `| foreachPartition sink`"),
        );
        return None;
    }
    Some((nodes, None))
}
