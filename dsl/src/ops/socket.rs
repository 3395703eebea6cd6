//! `socket(host, port)`: lines of text from a TCP server.

use super::args::{bind, check_int_range, written, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::{ExprKind, Stage};

pub const SPEC: OpSpec = OpSpec {
    name: "socket",
    kind: OpKind::Source,
    signature: "socket(host: String, port: i64, delimiter: String = \"\\n\") -> String",
    summary:
        "Lines of text read from a TCP server, one element per line (Spark's `socketTextStream`); \
              with `delimiter` (one byte, such as `\";\"`), records end at that byte instead. \
              The receiver reconnects when the connection drops. It is unreliable, as Spark's is: \
              records received but not yet in a batch are lost if the process dies.",
    example: "socket(\"localhost\", 9999) | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let params = [
        Param {
            name: "host",
            ty: Type::String,
            required: true,
        },
        Param {
            name: "port",
            ty: Type::I64,
            required: true,
        },
        Param {
            name: "delimiter",
            ty: Type::String,
            required: false,
        },
    ];
    let bound = bind(cx, stage, &params)?;
    check_int_range(
        cx,
        stage,
        (1, "port"),
        1..=65535,
        |port| format!("port {port} is not between 1 and 65535"),
        "not a TCP port",
    )?;
    let (host, port) = (bound[0].clone()?, bound[1].clone()?);
    let sp = cx.span(stage.span);
    let delimiter = match written(stage, 2, "delimiter") {
        None => None,
        Some(e) => match &e.kind {
            ExprKind::Str(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            _ => {
                cx.report(
                    Diagnostic::error(
                        "flow::arg::range",
                        e.span,
                        "a socket delimiter is a string of exactly one byte",
                    )
                    .label("not one byte")
                    .help("write, for example, `delimiter: \";\"`"),
                );
                return None;
            }
        },
    };
    let code = match delimiter {
        None | Some(b'\n') => quote_spanned!(sp=> ssc.socket_text_stream(&#host, (#port) as u16)),
        Some(d) => quote_spanned!(sp=> ssc.socket_stream(&#host, (#port) as u16, #d)),
    };
    Some(Lowered {
        out: Some(Type::String),
        code,
    })
}
