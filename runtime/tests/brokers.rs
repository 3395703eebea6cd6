//! Reliable receivers against real brokers that `scripts/test.sh` starts: Redis Streams
//! (consumer groups) and NATS JetStream. Every entry is counted exactly once, what a
//! previous run read but never acknowledged is read again, and everything stored is
//! acknowledged.

mod common;

use common::{service, Events};
use sluice_runtime::listener::SkipReason;
use sluice_runtime::{Settings, StreamingContext};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Counts = Arc<Mutex<BTreeMap<String, i64>>>;

/// Word counts of a stream, summed over every batch.
fn count_words(input: sluice_runtime::DStream<String>) -> Counts {
    let counts = Counts::default();
    let sink = counts.clone();
    input
        .flat_map(sluice_runtime::builtins::split)
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |pairs, _| {
            let mut m = sink.lock().unwrap();
            for (w, n) in pairs {
                *m.entry(w).or_default() += n;
            }
        });
    counts
}

fn settings() -> Settings {
    Settings {
        batch_interval: Duration::from_millis(100),
        block_interval: Duration::from_millis(20),
        receiver_restart_delay: Duration::from_millis(50),
        ..Settings::default()
    }
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("not reached in 20 s: {what}");
}

/// Both tests send 300 `old w{i % 3}`, 200 `new w{i % 4}` and 500 `live w{i % 5}`.
fn expected_counts() -> BTreeMap<String, i64> {
    let mut want = BTreeMap::new();
    for (word, n, modulo) in [("old", 300, 3), ("new", 200, 4), ("live", 500, 5)] {
        want.insert(word.to_string(), n as i64);
        for i in 0..n {
            *want.entry(format!("w{}", i % modulo)).or_default() += 1;
        }
    }
    want
}

#[cfg(feature = "redis")]
mod redis_streams {
    use super::*;
    use redis::Commands;
    use sluice_runtime::receiver::redis::{RedisStreamReceiver, RedisStreamSpec};

    fn xadd(con: &mut redis::Connection, key: &str, field: &str, text: &str) {
        let _: String = con.xadd(key, "*", &[(field, text)]).unwrap();
    }

    #[test]
    fn entries_are_counted_once_including_those_pending_from_a_previous_run() {
        let Some(url) = service("SLUICE_TEST_REDIS_URL") else {
            return;
        };
        let key = format!("words-{}", std::process::id());
        let mut con = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = con.del(&key).unwrap();
        // A previous run of the pipeline read the first 300 entries and died before
        // storing them: they are pending for its consumer, never acknowledged.
        for i in 0..300 {
            xadd(&mut con, &key, "data", &format!("old w{}", i % 3));
        }
        let _: () = con.xgroup_create(&key, "sluice", "0").unwrap();
        let _: redis::streams::StreamReadReply = con
            .xread_options(
                &[&key],
                &[">"],
                &redis::streams::StreamReadOptions::default().group("sluice", "sluice"),
            )
            .unwrap();
        let pending: redis::streams::StreamPendingReply = con.xpending(&key, "sluice").unwrap();
        assert_eq!(pending.count(), 300);
        for i in 0..200 {
            xadd(&mut con, &key, "data", &format!("new w{}", i % 4));
        }
        xadd(&mut con, &key, "other", "no data field");

        let mut ssc = StreamingContext::new(settings()).unwrap();
        let events = Arc::new(Events::default());
        ssc.add_listener(events.clone());
        let input = ssc.receiver_stream(RedisStreamReceiver::new(RedisStreamSpec::new(&url, &key)));
        let counts = count_words(input);
        ssc.start().unwrap();
        for i in 0..500 {
            xadd(&mut con, &key, "data", &format!("live w{}", i % 5));
        }
        let total = |c: &Counts| c.lock().unwrap().values().sum::<i64>();
        eventually("every entry counted", || total(&counts) == 2 * 1_000);
        ssc.stop(true).unwrap();

        assert_eq!(*counts.lock().unwrap(), expected_counts());
        assert_eq!(events.skipped(SkipReason::MissingField), 1);
        let pending: redis::streams::StreamPendingReply = con.xpending(&key, "sluice").unwrap();
        assert_eq!(pending.count(), 0, "everything stored was acknowledged");
        let _: () = con.del(&key).unwrap();
    }
}

#[cfg(feature = "nats")]
mod jetstream {
    use super::*;
    use async_nats::jetstream::{self, consumer, stream};
    use futures_util::StreamExt;
    use sluice_runtime::receiver::nats::{JetStreamReceiver, JetStreamSpec};

    async fn publish(js: &jetstream::Context, subject: &str, payload: Vec<u8>) {
        js.publish(subject.to_string(), payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    #[test]
    fn messages_are_counted_once_including_those_unacknowledged_by_a_previous_run() {
        let Some(url) = service("SLUICE_TEST_NATS_URL") else {
            return;
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let name = format!("WORDS{}", std::process::id());
        let subject = format!("words.{}", std::process::id());
        let mut spec = JetStreamSpec::new(&url, &name, &subject);
        spec.ack_wait = Duration::from_secs(1);
        let (js, consumer) = rt.block_on(async {
            let js = jetstream::new(async_nats::connect(url.as_str()).await.unwrap());
            let _ = js.delete_stream(&name).await;
            let stream = js
                .create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![subject.clone()],
                    ..Default::default()
                })
                .await
                .unwrap();
            for i in 0..300 {
                publish(&js, &subject, format!("old w{}", i % 3).into_bytes()).await;
            }
            // A previous run fetched these 300 and died before acknowledging them.
            let consumer: consumer::PullConsumer = stream
                .create_consumer(consumer::pull::Config {
                    durable_name: Some(spec.durable.clone()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: spec.ack_wait,
                    filter_subject: subject.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut batch = consumer
                .fetch()
                .max_messages(300)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .unwrap();
            let mut unacked = 0;
            while let Some(m) = batch.next().await {
                m.unwrap();
                unacked += 1;
            }
            assert_eq!(unacked, 300);
            for i in 0..200 {
                publish(&js, &subject, format!("new w{}", i % 4).into_bytes()).await;
            }
            publish(&js, &subject, b"\xff\xfe not text".to_vec()).await;
            (js, consumer)
        });

        let mut ssc = StreamingContext::new(settings()).unwrap();
        let events = Arc::new(Events::default());
        ssc.add_listener(events.clone());
        let counts = count_words(ssc.receiver_stream(JetStreamReceiver::new(spec)));
        ssc.start().unwrap();
        rt.block_on(async {
            for i in 0..500 {
                publish(&js, &subject, format!("live w{}", i % 5).into_bytes()).await;
            }
        });
        let total = |c: &Counts| c.lock().unwrap().values().sum::<i64>();
        eventually("every message counted", || total(&counts) == 2 * 1_000);
        ssc.stop(true).unwrap();

        assert_eq!(*counts.lock().unwrap(), expected_counts());
        assert_eq!(events.skipped(SkipReason::InvalidUtf8), 1);
        rt.block_on(async {
            let mut consumer = consumer;
            let info = consumer.info().await.unwrap();
            assert_eq!(
                info.num_ack_pending, 0,
                "everything stored was acknowledged"
            );
            assert_eq!(info.num_pending, 0);
            js.delete_stream(&name).await.unwrap();
        });
    }
}

/// The JetStream direct source: batches read ranges of stream sequences, capped per batch;
/// a batch that failed runs again after a restart on exactly its logged range, and the
/// next batches go on after it. Messages on other subjects of the stream are gaps.
mod jetstream_direct {
    use super::*;
    use async_nats::jetstream::{self, stream};
    use sluice_runtime::direct::jetstream::{JetStreamDirect, JetStreamDirectSpec};
    use sluice_runtime::direct::StartAt;
    use sluice_runtime::Termination;

    use common::{record_batches, Seen};

    fn context(
        url: &str,
        name: &str,
        dir: &std::path::Path,
        fail_batch: Option<usize>,
    ) -> (StreamingContext, Seen) {
        let mut ssc = StreamingContext::new(Settings {
            checkpoint_dir: Some(dir.to_path_buf()),
            max_rate_per_partition: 1_000,
            on_batch_failure: sluice_runtime::settings::BatchFailure::Stop,
            ..settings()
        })
        .unwrap();
        let mut spec = JetStreamDirectSpec::new(url, name);
        spec.start = StartAt::Earliest;
        spec.filter = format!("{name}.data");
        let seen = record_batches(&ssc.direct_stream(JetStreamDirect::new(spec)), fail_batch);
        (ssc, seen)
    }

    #[test]
    fn ranges_of_stream_sequences_are_read_once_and_replayed_exactly() {
        let Some(url) = service("SLUICE_TEST_NATS_URL") else {
            return;
        };
        let name = format!("DIRECT{}", std::process::id());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut want = Vec::new();
        rt.block_on(async {
            let js = jetstream::new(async_nats::connect(url.as_str()).await.unwrap());
            let _ = js.delete_stream(&name).await;
            js.create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![format!("{name}.>")],
                ..Default::default()
            })
            .await
            .unwrap();
            for i in 0..600 {
                // Every seventh message is on another subject: a gap in the sequences.
                let subject = if i % 7 == 0 { "other" } else { "data" };
                let text = format!("m{i}");
                if subject == "data" {
                    want.push(text.clone());
                }
                js.publish(format!("{name}.{subject}"), text.into_bytes().into())
                    .await
                    .unwrap()
                    .await
                    .unwrap();
            }
        });
        want.sort();
        let dir = tempfile::tempdir().unwrap();
        // 1 000 sequences/s at 100 ms batches: 100 a batch; the third batch fails.
        let (mut ssc, seen) = context(&url, &name, dir.path(), Some(3));
        ssc.start().unwrap();
        let ended = ssc.await_termination(Some(Duration::from_secs(30)));
        assert!(matches!(ended, Termination::Failed(_)), "{ended:?}");
        assert!(ssc.stop(false).is_err());
        drop(ssc);
        let first = seen.lock().unwrap().clone();
        let (&failed_at, failed) = first.iter().next_back().unwrap();
        assert!(first.values().all(|b| b.len() <= 100), "capped: {first:?}");

        let (mut ssc, seen) = context(&url, &name, dir.path(), None);
        ssc.start().unwrap();
        let done: usize = first.range(..failed_at).map(|(_, b)| b.len()).sum();
        eventually("the rest was read", || {
            seen.lock().unwrap().values().map(Vec::len).sum::<usize>() + done >= want.len()
        });
        ssc.stop(true).unwrap();
        let second = seen.lock().unwrap().clone();
        assert_eq!(second.get(&failed_at), Some(failed), "the same range again");
        let mut all: Vec<String> = first
            .range(..failed_at)
            .chain(second.iter())
            .flat_map(|(_, b)| b.clone())
            .collect();
        all.sort();
        assert_eq!(all, want, "0 lost, 0 duplicated, no other subject");
    }
}
