//! `redis(url, stream)`: records from a Redis stream, read as a consumer group member.

use super::args::bind_strings;
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "redis",
    kind: OpKind::Source,
    signature: "redis(url: String, stream: String, group: String = \"sluice\", \
                consumer: String = \"sluice\", field: String = \"data\") -> String",
    summary: "The text in field `field` of each entry of a Redis stream, read with `XREADGROUP` \
              as `consumer` of `group` (created at the stream's start if missing). Reliable: \
              entries are acknowledged (`XACK`) only once stored, and a restart first re-reads \
              its own pending entries. Entries without the field are skipped and counted.",
    example:
        "redis(\"redis://127.0.0.1:6379\", \"events\", group: \"counts\") | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let bound = bind_strings(
        cx,
        stage,
        &["url", "stream"],
        &["group", "consumer", "field"],
    )?;
    let (url, stream) = (bound[0].clone()?, bound[1].clone()?);
    let overrides = ["group", "consumer", "field"]
        .iter()
        .zip(&bound[2..])
        .filter_map(|(field, value)| {
            let field = quote::format_ident!("{}", field);
            value
                .as_ref()
                .map(|v| quote!(spec.#field = ::std::string::ToString::to_string(&#v);))
        });
    let rt = &cx.rt;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> {
            let mut spec = #rt::receiver::redis::RedisStreamSpec::new(&#url, &#stream);
            #(#overrides)*
            ssc.receiver_stream(#rt::receiver::redis::RedisStreamReceiver::new(spec))
        }),
    })
}
