//! `socket(host, port)`: lines of text from a TCP server.

use super::args::{bind, literal_int, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::diagnostic::Diagnostic;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "socket",
    kind: OpKind::Source,
    signature: "socket(host: String, port: i64) -> String",
    summary:
        "Lines of text read from a TCP server, one element per line (Spark's `socketTextStream`). \
              The receiver reconnects when the connection drops. It is unreliable, as Spark's is: \
              lines received but not yet in a batch are lost if the process dies.",
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
    ];
    let bound = bind(cx, stage, &params)?;
    if let Some((port, span)) = literal_int(stage, 1, "port") {
        if !(1..=65535).contains(&port) {
            cx.report(
                Diagnostic::error(
                    "flow::arg::range",
                    span,
                    format!("port {port} is not between 1 and 65535"),
                )
                .label("not a TCP port"),
            );
            return None;
        }
    }
    let (host, port) = (bound[0].clone()?, bound[1].clone()?);
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> ssc.socket_text_stream(&#host, (#port) as u16)),
    })
}
