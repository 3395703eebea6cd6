//! The Kafka side of the end-to-end tests: a topic on the broker `scripts/test.sh` starts,
//! and a pipeline that writes "key sequence-number" records into PostgreSQL, one row per
//! record, so that every single record can be accounted for.

use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::record::Record;
use std::collections::BTreeMap;

/// A topic, with a client per partition and the runtime that drives them.
pub struct Topic {
    rt: tokio::runtime::Runtime,
    partitions: Vec<PartitionClient>,
}

impl Topic {
    /// Creates topic `name` with `n` partitions on `broker`.
    pub fn create(broker: &str, name: &str, n: i32) -> Topic {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let partitions = rt.block_on(async {
            let client = rskafka::client::ClientBuilder::new(vec![broker.to_string()])
                .build()
                .await
                .expect("connect to the test broker");
            client
                .controller_client()
                .unwrap()
                .create_topic(name, n, 1, 5_000)
                .await
                .expect("create the topic");
            let mut partitions = Vec::new();
            for p in 0..n {
                let c = client
                    .partition_client(name, p, UnknownTopicHandling::Retry)
                    .await
                    .unwrap();
                partitions.push(c);
            }
            partitions
        });
        Topic { rt, partitions }
    }

    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Appends `lines` to `partition`, one record each.
    pub fn produce(&self, partition: usize, lines: &[String]) {
        let records = lines
            .iter()
            .map(|l| Record {
                key: None,
                value: Some(l.clone().into_bytes()),
                headers: BTreeMap::new(),
                timestamp: rskafka::chrono::DateTime::from_timestamp_millis(0).unwrap(),
            })
            .collect();
        self.rt
            .block_on(self.partitions[partition].produce(records, Compression::NoCompression))
            .expect("produce to the test broker");
    }
}

/// `per_key` sequence numbers for each of `keys` keys: `k<key> <n>`.
pub fn seq_lines(keys: usize, per_key: usize) -> Vec<String> {
    (1..=per_key)
        .flat_map(|n| (0..keys).map(move |k| format!("k{k} {n}")))
        .collect()
}

/// What the table must hold: each `k<key>#<n>` once.
pub fn seq_expected(lines: &[String]) -> BTreeMap<String, i64> {
    lines.iter().map(|l| (l.replace(' ', "#"), 1)).collect()
}

/// A flow reading `topic` (brokers from `KAFKA_BROKERS`) into `table(item, seq)` of the
/// PostgreSQL at `PG_URL`, a row per record; `settings` go into its settings block.
pub fn seq_flow(topic: &str, table: &str, settings: &str) -> String {
    format!(
        "settings {{\n  batch = 200ms\n  checkpoint = \"ckpt\"\n{settings}}}\n\
         sink jdbc = postgres(url: env(\"PG_URL\", \"postgresql://localhost/sluice\"), \
         table: \"{table}(item, seq)\", mode: \"append\")\n\
         kafka(env(\"KAFKA_BROKERS\", \"127.0.0.1:9092\"), \"{topic}\", start: \"earliest\")\n  \
         | map {{ |l: String| -> (String, i64) {{ let (k, n) = l.split_once(' ').unwrap(); \
         (k.to_string(), n.parse().unwrap()) }} }}\n  \
         | foreachPartition jdbc\n"
    )
}

/// The rows of `table` as `k<key>#<n>` → how many times.
pub fn seq_rows(
    rt: &tokio::runtime::Runtime,
    client: &tokio_postgres::Client,
    table: &str,
) -> BTreeMap<String, i64> {
    let mut got = BTreeMap::new();
    let rows = rt
        .block_on(client.query(&format!("SELECT item, seq FROM {table}"), &[]))
        .unwrap_or_default();
    for r in rows {
        let (k, n): (String, i64) = (r.get(0), r.get(1));
        *got.entry(format!("{k}#{n}")).or_default() += 1;
    }
    got
}
