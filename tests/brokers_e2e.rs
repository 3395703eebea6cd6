//! Broker sources as a user runs them: `sluice run` on a .flow file reading a Redis stream
//! and a NATS JetStream stream through receivers, and the same JetStream stream again
//! directly by sequence (all unioned), against the servers `scripts/test.sh` starts; the
//! word counts in the output files are exact — the JetStream half counted twice, once per
//! source — and both brokers saw every record the receivers read acknowledged.

mod common;

use common::*;

#[test]
fn a_flow_reading_redis_and_jetstream_counts_every_record_exactly_once() {
    let (Some(redis_url), Some(nats_url)) = (
        service("SLUICE_TEST_REDIS_URL"),
        service("SLUICE_TEST_NATS_URL"),
    ) else {
        return;
    };
    let id = std::process::id();
    let (key, stream, subject) = (format!("e2e-{id}"), format!("E2E{id}"), format!("e2e.{id}"));
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    let (to_redis, to_nats) = lines.split_at(lines.len() / 2);

    let mut redis = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
    let mut pipe = redis::pipe();
    for l in to_redis {
        pipe.cmd("XADD").arg(&key).arg("*").arg("data").arg(*l);
    }
    let _: () = pipe.query(&mut redis).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let js = rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats_url.as_str()).await.unwrap());
        let _ = js.delete_stream(&stream).await;
        js.create_stream(async_nats::jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
        for l in to_nats {
            js.publish(subject.clone(), l.to_string().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        js
    });

    let dir = tempfile::tempdir().unwrap();
    let flow = write_flow(
        dir.path(),
        "brokers.flow",
        &format!(
            "settings {{ batch = 200ms }}\n\
             let fromRedis = redis(env(\"REDIS_URL\", \"redis://127.0.0.1:6379\"), \"{key}\", group: \"e2e\")\n\
             let direct = jetstream(env(\"NATS_URL\", \"nats://127.0.0.1:4222\"), \"{stream}\", start: \"earliest\")\n\
             nats(env(\"NATS_URL\", \"nats://127.0.0.1:4222\"), \"{stream}\", \"{subject}\")\n  \
             | union fromRedis | union direct | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    run_flow(
        dir.path(),
        &flow,
        &["--for", "4s"],
        &[("REDIS_URL", &redis_url), ("NATS_URL", &nats_url)],
    );

    let (counts, _) = sum_text_files(&dir.path().join("out"), "wc");
    let mut want = word_counts(&text);
    for (w, n) in word_counts(&to_nats.join("\n")) {
        *want.entry(w).or_default() += n;
    }
    assert_counts(&counts, &want);
    // XPENDING's summary: count, lowest id, highest id, per-consumer counts.
    let (pending, ..): (i64, redis::Value, redis::Value, redis::Value) = redis::cmd("XPENDING")
        .arg(&key)
        .arg("e2e")
        .query(&mut redis)
        .unwrap();
    assert_eq!(pending, 0, "every Redis entry acknowledged");
    rt.block_on(async {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
            .get_stream(&stream)
            .await
            .unwrap()
            .get_consumer("sluice")
            .await
            .unwrap();
        let info = consumer.info().await.unwrap();
        assert_eq!(
            info.num_ack_pending, 0,
            "every JetStream message acknowledged"
        );
        assert_eq!(info.num_pending, 0);
        js.delete_stream(&stream).await.unwrap();
    });
    let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
}
