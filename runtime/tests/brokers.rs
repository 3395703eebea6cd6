//! Reliable receivers against real brokers that `scripts/test.sh` starts: Redis Streams
//! (consumer groups) and NATS JetStream. Every entry is counted exactly once, what a
//! previous run read but never acknowledged is read again, and everything stored is
//! acknowledged.

mod common;

use common::Events;
use sluice_runtime::listener::SkipReason;
use sluice_runtime::{Settings, StreamingContext};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A service `scripts/test.sh` started, by its URL variable. Skipped without it, except
/// under CI, where a missing service is a failure.
fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: run the tests through scripts/test.sh")
        }
        Err(_) => {
            eprintln!("SKIPPED: {var} is not set; run scripts/test.sh to start the broker");
            None
        }
    }
}

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

        let got = counts.lock().unwrap().clone();
        let mut want = BTreeMap::new();
        want.insert("old".to_string(), 300);
        want.insert("new".to_string(), 200);
        want.insert("live".to_string(), 500);
        for i in 0..5 {
            let n = (0..300).filter(|j| j % 3 == i).count()
                + (0..200).filter(|j| j % 4 == i).count()
                + (0..500).filter(|j| j % 5 == i).count();
            want.insert(format!("w{i}"), n as i64);
        }
        assert_eq!(got, want);
        assert_eq!(events.skipped(SkipReason::MissingField), 1);
        let pending: redis::streams::StreamPendingReply = con.xpending(&key, "sluice").unwrap();
        assert_eq!(pending.count(), 0, "everything stored was acknowledged");
        let _: () = con.del(&key).unwrap();
    }
}
