//! `jetstream(url, stream)`: the messages of a JetStream stream, read directly by sequence.

use super::args::bind_strings;
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "jetstream",
    kind: OpKind::Source,
    signature: "jetstream(url: String, stream: String, subject: String = \"\", \
                start: String = \"latest\") -> String",
    summary: "The lines of the messages of the existing JetStream stream `stream` (only those \
              on subjects matching `subject`, when given), read directly by stream sequence — \
              no receiver, no consumer to acknowledge — the way `kafka` reads offsets: each \
              batch reads a range of sequences, capped by `maxRatePerPartition`, logged before \
              it runs when a `checkpoint` directory is set, and read again exactly after a \
              crash. `start`: \"earliest\" or \"latest\". For a receiver that acknowledges \
              instead, see `nats`.",
    example: "jetstream(\"nats://127.0.0.1:4222\", \"EVENTS\", start: \"earliest\") \
              | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let start = super::start_at(cx, stage, 3);
    let bound = bind_strings(cx, stage, &["url", "stream"], &["subject", "start"])?;
    let (url, stream) = (bound[0].clone()?, bound[1].clone()?);
    let rt = &cx.rt;
    let subject = bound[2]
        .as_ref()
        .map(|s| quote!(spec.filter = ::std::string::ToString::to_string(&#s);));
    let start = start?;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> {
            let mut spec = #rt::direct::jetstream::JetStreamDirectSpec::new(&#url, &#stream);
            #subject
            #start
            ssc.direct_stream(#rt::direct::jetstream::JetStreamDirect::new(spec))
        }),
    })
}
