//! Zero data loss and no double counting across `kill -9`, as a user deploys it: a pipeline
//! built with `sluice build`, reading a Redis stream with the write-ahead log on. The
//! program is killed with SIGKILL 20 times (`SLUICE_KILLS`) at seeded random moments
//! (`SLUICE_CRASH_SEED`) while a feeder keeps adding entries, restarted each time, and
//! finally stopped when its output adds up; the output must then equal the counts of
//! everything fed, exactly — added up in PostgreSQL per batch, or kept as
//! `updateStateByKey` state (restored from checkpoints) and written out every batch. The
//! oracle never deduplicates: a word counted twice is a failure.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn start(binary: &Path, dir: &Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(binary);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .unwrap();
    cmd.current_dir(dir)
        .args(["--batch-log", "batches.jsonl"])
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the pipeline")
}

/// A pipeline reading the Redis stream as group `group`, going on with `rest`, after
/// `prelude` (sink declarations).
struct Pipeline<'a> {
    prelude: &'a str,
    group: &'a str,
    rest: &'a str,
}

/// The crash loop's knobs: `SLUICE_KILLS` (default 20) and `SLUICE_CRASH_SEED`, so a
/// failing run can be replayed.
fn knobs() -> (usize, u64) {
    let kills = std::env::var("SLUICE_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(20);
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    (kills, seed)
}

fn batches_logged(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("batches.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Feeds the corpus into the Redis stream `key` while the pipeline is started and
/// SIGKILLed `kills` times at seeded random moments (0.1 to 1.3 s after each start); then
/// starts it once more and stops it gracefully once `done` holds (or a minute passes).
/// Prints the recovery time of each restart: from its start to its first completed batch.
fn crash_loop(
    dir: &Path,
    redis_url: &str,
    key: &str,
    p: Pipeline<'_>,
    env: &[(&str, &str)],
    done: impl Fn() -> bool,
) {
    let (kills, seed) = knobs();
    let mut redis = redis::Client::open(redis_url)
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("DEL").arg(key).query(&mut redis).unwrap();
    let flow = write_flow(
        dir,
        "crashloop.flow",
        &format!(
            "settings {{\n  batch = 200ms\n  checkpoint = \"ckpt\"\n  writeAheadLog = true\n}}\n{}\
             redis(env(\"REDIS_URL\", \"redis://127.0.0.1:6379\"), \"{key}\", group: \"{}\")\n  | {}\n",
            p.prelude, p.group, p.rest
        ),
    );
    let binary = build_flow(&flow);
    let mut env: Vec<(&str, &str)> = env.to_vec();
    env.push(("REDIS_URL", redis_url));
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let delays: Vec<u64> = (0..kills).map(|_| 100 + next() % 1_200).collect();
    let feeder = {
        let lines: Vec<String> = corpus().lines().map(str::to_string).collect();
        let chunks = lines.len().div_ceil(25) as u64;
        // Spread the corpus over the whole kill phase.
        let pause = (delays.iter().sum::<u64>() / chunks.max(1)).max(20);
        let (url, key) = (redis_url.to_string(), key.to_string());
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
                std::thread::sleep(Duration::from_millis(pause));
            }
        })
    };
    let mut recoveries = Vec::new();
    for after_ms in &delays {
        let before = batches_logged(dir);
        let started = Instant::now();
        let mut child = start(&binary, dir, &env);
        let kill_at = started + Duration::from_millis(*after_ms);
        let mut recovered = None;
        while Instant::now() < kill_at {
            if recovered.is_none() && batches_logged(dir) > before {
                recovered = Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        recoveries.extend(recovered);
    }
    recoveries.sort();
    eprintln!(
        "{kills} kills (seed {seed}); restarts that completed a batch before their kill: {}, \
         recovery time min {:?} median {:?} max {:?}",
        recoveries.len(),
        recoveries.first(),
        recoveries.get(recoveries.len() / 2),
        recoveries.last()
    );
    feeder.join().unwrap();
    let mut child = start(&binary, dir, &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    // A few more batches: anything counted twice would show now.
    std::thread::sleep(Duration::from_millis(600));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "graceful stop: {status}; the program's stderr over all runs:\n{}",
        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
    );
    let _: () = redis::cmd("DEL").arg(key).query(&mut redis).unwrap();
}

/// The strict oracle: every word counted exactly as often as it was fed. Failures are
/// named as Jepsen names them — lost-write (counted too little), duplicate (too much) —
/// with the seed to replay the run.
fn assert_exact(got: &BTreeMap<String, i64>, want: &BTreeMap<String, i64>) {
    let (_, seed) = knobs();
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    for (w, &n) in want {
        let g = got.get(w).copied().unwrap_or(0);
        if g < n {
            lost.push((w.as_str(), n - g));
        } else if g > n {
            duplicated.push((w.as_str(), g - n));
        }
    }
    for (w, &g) in got {
        if !want.contains_key(w) {
            duplicated.push((w.as_str(), g));
        }
    }
    let total = |v: &[(&str, i64)]| v.iter().map(|(_, n)| n).sum::<i64>();
    assert!(
        lost.is_empty() && duplicated.is_empty(),
        "lost-write: {} occurrences of {} words, e.g. {:?}; duplicate: {} occurrences of {} \
         words, e.g. {:?} (replay with SLUICE_CRASH_SEED={seed})",
        total(&lost),
        lost.len(),
        &lost[..lost.len().min(5)],
        total(&duplicated),
        duplicated.len(),
        &duplicated[..duplicated.len().min(5)],
    );
}

#[test]
fn kill_9_loses_nothing_and_counts_nothing_twice() {
    let (Some(pg), Some(redis_url)) = (pg_url(), service("SLUICE_TEST_REDIS_URL")) else {
        return;
    };
    let id = std::process::id();
    let (key, table) = (format!("wal-{id}"), format!("wal_counts_{id}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &pg);
    rt.block_on(client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")))
        .unwrap();
    let counts = || -> BTreeMap<String, i64> {
        rt.block_on(client.query(&format!("SELECT item, count FROM {table}"), &[]))
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            .unwrap_or_default()
    };
    let want = word_counts(&corpus());
    let total: i64 = want.values().sum();
    let dir = tempfile::tempdir().unwrap();
    crash_loop(
        dir.path(),
        &redis_url,
        &key,
        Pipeline {
            prelude: &format!(
                "sink jdbc = postgres(url: env(\"PG_URL\", \"postgresql://localhost/sluice\"), table: \"{table}(item, count)\")\n"
            ),
            group: "wal",
            rest: "flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc",
        },
        &[("PG_URL", pg.as_str())],
        || counts().values().sum::<i64>() >= total,
    );
    assert_exact(&counts(), &want);
}

/// The state of the newest batch directory `out/state-<ms>`.
fn newest_state(dir: &Path) -> BTreeMap<String, i64> {
    let out = dir.join("out");
    let newest = std::fs::read_dir(&out)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_prefix("state-")?.parse::<u64>().ok()
        })
        .max();
    let Some(ms) = newest else {
        return BTreeMap::new();
    };
    // Read only a whole directory; one being replaced reads as empty until it is back.
    let batch = out.join(format!("state-{ms}"));
    if !batch.join("_SUCCESS").exists() {
        return BTreeMap::new();
    }
    let mut state = BTreeMap::new();
    for part in std::fs::read_dir(&batch).into_iter().flatten().flatten() {
        if !part.file_name().to_string_lossy().starts_with("part-") {
            continue;
        }
        for line in std::fs::read_to_string(part.path())
            .unwrap_or_default()
            .lines()
        {
            let pair = line.strip_prefix('(').and_then(|l| l.strip_suffix(')'));
            if let Some((w, n)) = pair.and_then(|p| p.rsplit_once(',')) {
                state.insert(w.to_string(), n.parse().unwrap_or(-1));
            }
        }
    }
    state
}

#[test]
fn kill_9_keeps_update_state_by_key_exact_through_checkpoints() {
    let Some(redis_url) = service("SLUICE_TEST_REDIS_URL") else {
        return;
    };
    let key = format!("state-{}", std::process::id());
    let want = word_counts(&corpus());
    let dir = tempfile::tempdir().unwrap();
    crash_loop(
        dir.path(),
        &redis_url,
        &key,
        Pipeline {
            prelude: "",
            group: "state",
            rest: "flatMap split | map (w, 1)\n  \
                   | updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) } }\n  \
                   | saveAsTextFiles(\"out/state\")",
        },
        &[],
        || newest_state(dir.path()) == want,
    );
    assert_exact(&newest_state(dir.path()), &want);
}
