//! `join`, `leftOuterJoin`, `rightOuterJoin`, `fullOuterJoin`, `cogroup`: two pair
//! streams' batches of the same time, matched by key.

use super::{expect_pair, named_stream, Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::{format_ident, quote_spanned};
use sluice_grammar::ast::Stage;

pub const JOIN: OpSpec = OpSpec {
    name: "join",
    kind: OpKind::Transform,
    signature: "join other : (K, V) -> (K, (V, W))",
    summary: "Per batch, every pairing of a value of this stream with a value of the stream \
              named `other` under the same key (Spark's inner join of same-time batches).",
    example: "let clicks = socket(\"localhost\", 9998) | map (line, 1)\nsocket(\"localhost\", 9999) | map (line, 2) | join clicks | print",
    lower: |cx, s, i| lower(cx, s, i, Kind::Inner),
};

pub const LEFT_OUTER_JOIN: OpSpec = OpSpec {
    name: "leftOuterJoin",
    kind: OpKind::Transform,
    signature: "leftOuterJoin other : (K, V) -> (K, (V, Option<W>))",
    summary: "As `join`, plus the keys only this stream has, paired with `None`.",
    example: "let clicks = socket(\"localhost\", 9998) | map (line, 1)\nsocket(\"localhost\", 9999) | map (line, 2) | leftOuterJoin clicks | print",
    lower: |cx, s, i| lower(cx, s, i, Kind::Left),
};

pub const RIGHT_OUTER_JOIN: OpSpec = OpSpec {
    name: "rightOuterJoin",
    kind: OpKind::Transform,
    signature: "rightOuterJoin other : (K, V) -> (K, (Option<V>, W))",
    summary: "As `join`, plus the keys only `other` has, paired with `None`.",
    example: "let clicks = socket(\"localhost\", 9998) | map (line, 1)\nsocket(\"localhost\", 9999) | map (line, 2) | rightOuterJoin clicks | print",
    lower: |cx, s, i| lower(cx, s, i, Kind::Right),
};

pub const FULL_OUTER_JOIN: OpSpec = OpSpec {
    name: "fullOuterJoin",
    kind: OpKind::Transform,
    signature: "fullOuterJoin other : (K, V) -> (K, (Option<V>, Option<W>))",
    summary: "As `join`, plus the keys only one of the streams has, paired with `None`.",
    example: "let clicks = socket(\"localhost\", 9998) | map (line, 1)\nsocket(\"localhost\", 9999) | map (line, 2) | fullOuterJoin clicks | print",
    lower: |cx, s, i| lower(cx, s, i, Kind::Full),
};

pub const COGROUP: OpSpec = OpSpec {
    name: "cogroup",
    kind: OpKind::Transform,
    signature: "cogroup other : (K, V) -> (K, ([V], [W]))",
    summary: "Per batch, each key of either stream with all its values from both.",
    example: "let clicks = socket(\"localhost\", 9998) | map (line, 1)\nsocket(\"localhost\", 9999) | map (line, 2) | cogroup clicks | print",
    lower: |cx, s, i| lower(cx, s, i, Kind::CoGroup),
};

#[derive(Clone, Copy)]
enum Kind {
    Inner,
    Left,
    Right,
    Full,
    CoGroup,
}

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>, kind: Kind) -> Option<Lowered> {
    let input = input?;
    let op = stage.op.name.as_str();
    let (name, other, span) = named_stream(cx, stage)?;
    let (k, v) = expect_pair(cx, op, stage, input)?;
    let Some((ok, w)) = other.ty.as_pair() else {
        cx.report(
            Diagnostic::error(
                "flow::type::not_a_pair",
                span,
                format!(
                    "`{op}` needs `{name}` to carry (key, value) pairs, but it carries {}",
                    other.ty
                ),
            )
            .label(format!("carries {}", other.ty))
            .also(other.from, format!("this produces {}", other.ty)),
        );
        return None;
    };
    if *ok != k {
        cx.report(
            Diagnostic::error(
                "flow::type::key_mismatch",
                span,
                format!(
                    "`{op}` matches keys, but this stream's keys are {k} and `{name}`'s are {ok}"
                ),
            )
            .label(format!("keys are {ok}"))
            .also(input.from, format!("keys are {k}"))
            .help(format!(
                "make both streams' keys {k}, e.g. with `map (k, v) => (…, v)` on `{name}`"
            )),
        );
        return None;
    }
    let w = w.clone();
    let opt = |t: Type| Type::Option(Box::new(t));
    let (value, method) = match kind {
        Kind::Inner => (Type::Tuple(vec![v, w]), "join"),
        Kind::Left => (Type::Tuple(vec![v, opt(w)]), "left_outer_join"),
        Kind::Right => (Type::Tuple(vec![opt(v), w]), "right_outer_join"),
        Kind::Full => (Type::Tuple(vec![opt(v), opt(w)]), "full_outer_join"),
        Kind::CoGroup => (
            Type::Tuple(vec![Type::List(Box::new(v)), Type::List(Box::new(w))]),
            "cogroup",
        ),
    };
    let sp = cx.span(stage.op.span);
    let method = format_ident!("{}", method, span = sp);
    let (var, other_var) = (&input.var, &other.var);
    Some(Lowered {
        out: Some(Type::Tuple(vec![k, value])),
        code: quote_spanned!(sp=> #var.#method(&#other_var)),
    })
}
