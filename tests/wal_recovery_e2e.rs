//! Zero data loss and no double counting across `kill -9`, as a user deploys it: a pipeline
//! built with `sluice build`, reading a Redis stream with the write-ahead log on, adding
//! word counts into PostgreSQL. The program is killed with SIGKILL three times while a
//! feeder keeps adding entries, restarted each time, and finally stopped when the counts
//! add up; the table must then equal the counts of everything fed, exactly.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn start(binary: &std::path::Path, dir: &std::path::Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir).args(["--batch-log", "batches.jsonl"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the pipeline")
}

#[test]
fn kill_9_loses_nothing_and_counts_nothing_twice() {
    let (Some(pg), Some(redis_url)) = (pg_url(), service("SLUICE_TEST_REDIS_URL")) else {
        return;
    };
    let id = std::process::id();
    let (key, table) = (format!("wal-{id}"), format!("wal_counts_{id}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&pg, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            .await
            .unwrap();
        client
    });
    let mut redis = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let flow = write_flow(
        dir.path(),
        "walcount.flow",
        &format!(
            "settings {{\n  batch = 200ms\n  checkpoint = \"ckpt\"\n  writeAheadLog = true\n}}\n\
             sink jdbc = postgres(url: env(\"PG_URL\", \"postgresql://localhost/sluice\"), table: \"{table}(item, count)\")\n\
             redis(env(\"REDIS_URL\", \"redis://127.0.0.1:6379\"), \"{key}\", group: \"wal\")\n  \
             | flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc\n"
        ),
    );
    let binary = build_flow(&flow);
    let env = [("PG_URL", pg.as_str()), ("REDIS_URL", redis_url.as_str())];

    // Entries arrive steadily for about six seconds, through every kill and restart.
    let text = corpus();
    let feeder = {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let (url, key) = (redis_url.clone(), key.clone());
        std::thread::spawn(move || {
            let mut con = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection()
                .unwrap();
            for chunk in lines.chunks(25) {
                let mut pipe = redis::pipe();
                for l in chunk {
                    pipe.cmd("XADD").arg(&key).arg("*").arg("data").arg(l);
                }
                let _: () = pipe.query(&mut con).unwrap();
                std::thread::sleep(Duration::from_millis(110));
            }
        })
    };
    for (round, after_ms) in [700u64, 1_100, 450].into_iter().enumerate() {
        let mut child = start(&binary, dir.path(), &env);
        std::thread::sleep(Duration::from_millis(after_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!("killed run {round} after {after_ms} ms");
    }
    feeder.join().unwrap();

    let want = word_counts(&text);
    let total: i64 = want.values().sum();
    let mut child = start(&binary, dir.path(), &env);
    let counts = || -> BTreeMap<String, i64> {
        rt.block_on(client.query(&format!("SELECT item, count FROM {table}"), &[]))
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts().values().sum::<i64>() < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    // One more batch interval: anything counted twice would show now.
    std::thread::sleep(Duration::from_millis(600));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop: {status}");
    assert_counts(&counts(), &want);
    let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
}
