//! `nats(url, stream, subject)`: messages from a NATS JetStream stream.

use super::args::bind_strings;
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "nats",
    kind: OpKind::Source,
    signature: "nats(url: String, stream: String, subject: String, durable: String = \"sluice\") \
                -> String",
    summary: "The payload of each message on `subject` of the JetStream stream `stream` \
              (created if missing), read by the durable pull consumer `durable`, so a restart \
              resumes where it stopped. Reliable: messages are acknowledged only once stored; \
              the server redelivers any it fetched but never saw acknowledged. Payloads that \
              are not UTF-8 are skipped and counted.",
    example: "nats(\"nats://127.0.0.1:4222\", \"EVENTS\", \"events.>\") | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let bound = bind_strings(cx, stage, &["url", "stream", "subject"], &["durable"])?;
    let (url, stream, subject) = (bound[0].clone()?, bound[1].clone()?, bound[2].clone()?);
    let durable = bound[3]
        .as_ref()
        .map(|d| quote!(spec.durable = ::std::string::ToString::to_string(&#d);));
    let rt = &cx.rt;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> {
            let mut spec = #rt::receiver::nats::JetStreamSpec::new(&#url, &#stream, &#subject);
            #durable
            ssc.receiver_stream(#rt::receiver::nats::JetStreamReceiver::new(spec))
        }),
    })
}
