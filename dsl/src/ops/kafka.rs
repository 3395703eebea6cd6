//! `kafka(brokers, topic)`: the lines of a Kafka topic's messages, read directly.

use super::args::bind_strings;
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "kafka",
    kind: OpKind::Source,
    signature: "kafka(brokers: String, topic: String, start: String = \"latest\") -> String",
    summary: "The lines of the messages of every partition of `topic` on the brokers \
              `brokers` (`host:port`, comma-separated), read directly — no receiver (Spark's \
              `createDirectStream`): each batch reads an offset range per partition, capped by \
              `maxRatePerPartition`. With a `checkpoint` directory the ranges are logged before \
              the batch runs, so after a crash a batch reads exactly the same records again; \
              with an idempotent sink (`jdbc`) every record counts exactly once. `start` is \
              where a partition never read before begins: \"earliest\" or \"latest\".",
    example: "kafka(\"127.0.0.1:9092\", \"words\", start: \"earliest\") | flatMap split \
              | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let start = super::start_at(cx, stage, 2);
    let bound = bind_strings(cx, stage, &["brokers", "topic"], &["start"])?;
    let (brokers, topic) = (bound[0].clone()?, bound[1].clone()?);
    let rt = &cx.rt;
    let start = start?;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> {
            let mut spec = #rt::direct::kafka::KafkaSpec::new(&#brokers, &#topic);
            #start
            ssc.kafka_stream(spec)
        }),
    })
}
