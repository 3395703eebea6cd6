//! Zero data loss and no double counting across `kill -9`, as a user deploys it: a pipeline
//! built with `sluice build --fail-points`, killed 20 times (`SLUICE_KILLS`; more with
//! `scripts/crash-loop.sh --kills N`) while a feeder
//! keeps adding input, restarted each time, and finally stopped when its output adds up;
//! the output must then equal what was fed, exactly. Every other kill is a SIGKILL at a
//! seeded random moment (`SLUICE_CRASH_SEED`); the others are fail points — the program
//! kills itself just before or just after a write-ahead log write, a batch allocation, a
//! sink commit, a checkpoint or a batch completion. Three pipelines: a Redis stream with
//! the write-ahead log into PostgreSQL; the same into `updateStateByKey` state restored
//! from checkpoints; and a Kafka direct source into PostgreSQL with per-key sequence
//! numbers, so every single record is accounted for. The first two also run on a timely
//! cluster of three processes (at 127.0.0.1, .2 and .3), where each kill hits one process
//! chosen by the seed and the others must stop by themselves (fail-stop) before the
//! whole cluster is started again. The oracle never deduplicates: a record counted twice
//! is a failure.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts the pipeline: one process, or with a host file every process of the cluster it
/// names (process 0, the driver, first).
fn start_all(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    fail_point: Option<&str>,
    hostfile: Option<&Path>,
) -> Vec<Child> {
    let Some(hostfile) = hostfile else {
        return vec![start(binary, dir, env, fail_point, (0, &[]))];
    };
    let n = std::fs::read_to_string(hostfile).unwrap().lines().count();
    (0..n)
        .map(|i| {
            let cluster = [
                "--processes".to_string(),
                n.to_string(),
                "--process".to_string(),
                i.to_string(),
                "--hostfile".to_string(),
                hostfile.display().to_string(),
            ];
            start(binary, dir, env, fail_point, (i, &cluster))
        })
        .collect()
}

/// Starts one process, its standard error into `stderr-I.log` in `dir` (process I of a
/// cluster; 0 alone).
fn start(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    fail_point: Option<&str>,
    (process, extra): (usize, &[String]),
) -> Child {
    let mut cmd = Command::new(binary);
    let log = std::fs::File::create(dir.join(format!("stderr-{process}.log"))).unwrap();
    cmd.current_dir(dir)
        .args(["--batch-log", "batches.jsonl", "--no-ui"])
        .args(extra)
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(p) = fail_point {
        cmd.env("FAILPOINTS", p);
    }
    cmd.spawn().expect("start the pipeline")
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

/// What process `i` wrote to standard error in its current run.
fn process_log(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("stderr-{i}.log"))).unwrap_or_default()
}

/// Appends the current run's logs of `n` processes to `stderr.log`, which keeps them all.
fn keep_logs(dir: &Path, n: usize) {
    use std::io::Write;
    let mut all = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .unwrap();
    for i in 0..n {
        let log = process_log(dir, i);
        if !log.is_empty() {
            writeln!(all, "--- process {i}:\n{log}").unwrap();
        }
        let _ = std::fs::remove_file(dir.join(format!("stderr-{i}.log")));
    }
}

fn batches_logged(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("batches.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// xorshift64: the seeded choices of a crash loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes a chunk of input lines to a pipeline's source.
type Feed = Box<dyn FnMut(&[String]) + Send>;

/// One crash loop: a pipeline, its input, and where it may be killed.
struct CrashLoop<'a> {
    dir: &'a Path,
    /// The .flow file.
    flow: String,
    env: Vec<(String, String)>,
    /// The input, fed 25 lines at a time over the whole kill phase by `feed`.
    lines: Vec<String>,
    feed: Feed,
    /// The fail points this pipeline passes through.
    points: &'a [&'a str],
    /// Run as a cluster of this many processes (1: local mode).
    processes: usize,
}

impl CrashLoop<'_> {
    /// Kills the pipeline `SLUICE_KILLS` times while feeding it: at even kills with SIGKILL
    /// 0.1 to 1.3 s after its start, at odd kills at the n-th pass (n from 1 to 4) through
    /// one of `points` (or SIGKILL after 3 s if it gets no further). Then starts it once
    /// more and stops it gracefully once `done` holds (or a minute passes). Prints the
    /// recovery time of each restart (from its start to its first completed batch) and
    /// how often each fail point fired.
    fn run(self, done: impl Fn() -> bool) {
        let (kills, seed) = knobs();
        // A name of its own: the cache keeps a pipeline's two newest builds, and the crash
        // loops build concurrently.
        let name = format!("crashloop_{}.flow", std::process::id());
        let flow = write_flow(self.dir, &name, &self.flow);
        let binary = build_flow(&flow, &["--fail-points"]);
        let hostfile = (self.processes > 1).then(|| {
            let hosts: Vec<String> = (1..=self.processes)
                .map(|i| {
                    let ip = format!("127.0.0.{i}");
                    let port = std::net::TcpListener::bind((ip.as_str(), 0))
                        .unwrap()
                        .local_addr()
                        .unwrap()
                        .port();
                    format!("{ip}:{port}")
                })
                .collect();
            let path = self.dir.join("hosts");
            std::fs::write(&path, hosts.join("\n")).unwrap();
            path
        });
        let mut rng = Rng(seed | 1);
        let plan: Vec<(u64, Option<String>)> = (0..kills)
            .map(|i| {
                let delay = 100 + rng.next() % 1_200;
                let point = (i % 2 == 1 && !self.points.is_empty()).then(|| {
                    let p = self.points[rng.next() as usize % self.points.len()];
                    format!("{p}={}*off->return", rng.next() % 4)
                });
                (delay, point)
            })
            .collect();
        let feeder = {
            let (lines, mut feed) = (self.lines, self.feed);
            let chunks = lines.len().div_ceil(25) as u64;
            // Spread the input over the whole kill phase.
            let pause = (plan.iter().map(|(d, _)| d).sum::<u64>() / chunks.max(1)).max(20);
            std::thread::spawn(move || {
                for chunk in lines.chunks(25) {
                    feed(chunk);
                    std::thread::sleep(Duration::from_millis(pause));
                }
            })
        };
        let mut recoveries = Vec::new();
        let mut fired: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let (mut fail_stops, mut unconnected) = (0, 0);
        for (after_ms, point) in &plan {
            let before = batches_logged(self.dir);
            let started = Instant::now();
            let mut children = start_all(
                &binary,
                self.dir,
                &self.env,
                point.as_deref(),
                hostfile.as_deref(),
            );
            let kill_at = started
                + match point {
                    Some(_) => Duration::from_secs(3),
                    None => Duration::from_millis(*after_ms),
                };
            let mut recovered = None;
            // The first process to end, and how.
            let mut exited = None;
            while Instant::now() < kill_at && exited.is_none() {
                if recovered.is_none() && batches_logged(self.dir) > before {
                    recovered = Some(started.elapsed());
                }
                for c in &mut children {
                    if let Some(status) = c.try_wait().unwrap() {
                        exited = Some(status);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if exited.is_none() {
                // SIGKILL one process (the seed picks which); in a cluster the others
                // must stop by themselves.
                let victim = rng.next() as usize % children.len();
                children[victim].kill().unwrap();
            }
            let stop_by = Instant::now() + Duration::from_secs(10);
            for (i, c) in children.iter_mut().enumerate() {
                while c.try_wait().unwrap().is_none() {
                    if Instant::now() > stop_by {
                        // Only a process still waiting for its peers to connect (timely
                        // retries for ever) may wait on: it has done nothing yet.
                        let log = process_log(self.dir, i);
                        assert!(
                            !log.contains("connected"),
                            "process {i} of the cluster went on after another died:\n{log}"
                        );
                        c.kill().unwrap();
                        c.wait().unwrap();
                        unconnected += 1;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            if children.len() > 1 {
                fail_stops += 1;
            }
            keep_logs(self.dir, children.len());
            if let Some(p) = point {
                let name = p.split('=').next().unwrap_or(p).to_string();
                let slot = fired.entry(name).or_default();
                slot.1 += 1;
                if let Some(status) = exited {
                    assert!(
                        status.signal() == Some(9) || status.code() == Some(3),
                        "the program ended on its own ({status}) instead of at {p}"
                    );
                    slot.0 += 1;
                }
            }
            recoveries.extend(recovered);
        }
        if fail_stops > 0 {
            eprintln!(
                "{fail_stops} cluster restarts: every connected survivor stopped by itself; \
                 {unconnected} process(es) still waiting for a killed peer to connect were killed"
            );
        }
        eprintln!(
            "recovery time of each restart that completed a batch before its kill (ms): {:?}",
            recoveries.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
        );
        recoveries.sort();
        eprintln!(
            "{kills} kills (seed {seed}); restarts that completed a batch before their kill: \
             {}, recovery time min {:?} median {:?} max {:?}; fail points (fired/armed): {fired:?}",
            recoveries.len(),
            recoveries.first(),
            recoveries.get(recoveries.len() / 2),
            recoveries.last()
        );
        feeder.join().unwrap();
        let before = batches_logged(self.dir);
        let children = start_all(&binary, self.dir, &self.env, None, hostfile.as_deref());
        let deadline = Instant::now() + Duration::from_secs(60);
        // Up (a cluster takes a moment to connect) and done.
        while (batches_logged(self.dir) == before || !done()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        // A few more batches: anything counted twice would show now.
        std::thread::sleep(Duration::from_millis(600));
        // SIGTERM to the driver; it stops the other processes.
        terminate(&children[0]);
        let n = children.len();
        let statuses: Vec<_> = children
            .into_iter()
            .map(|mut c| c.wait().unwrap())
            .collect();
        keep_logs(self.dir, n);
        for status in statuses {
            assert!(
                status.success(),
                "graceful stop: {status}; the program's stderr over all runs:\n{}",
                std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
            );
        }
    }
}

/// Fail points of a receiver pipeline with the write-ahead log.
const WAL_POINTS: &[&str] = &[
    "block_store.before",
    "block_store.after",
    "allocation.before",
    "allocation.after",
    "batch_completed.before",
    "batch_completed.after",
];

/// A crash loop over the Redis stream `key` (read as consumer group `group`, write-ahead
/// log on), fed the bundled corpus; `prelude` declares sinks, `rest` goes on from the
/// source.
fn redis_loop<'a>(
    dir: &'a Path,
    redis_url: &str,
    key: &str,
    (prelude, group, rest): (&str, &str, &str),
    points: &'a [&'a str],
) -> CrashLoop<'a> {
    let mut redis = redis::Client::open(redis_url)
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("DEL").arg(key).query(&mut redis).unwrap();
    let flow = format!(
        "settings {{\n  batch = 200ms\n  checkpoint = \"ckpt\"\n  writeAheadLog = true\n}}\n{prelude}\
         redis(env(\"REDIS_URL\", \"redis://127.0.0.1:6379\"), \"{key}\", group: \"{group}\")\n  | {rest}\n"
    );
    let key = key.to_string();
    CrashLoop {
        dir,
        flow,
        env: vec![("REDIS_URL".into(), redis_url.into())],
        lines: corpus().lines().map(str::to_string).collect(),
        processes: 1,
        feed: Box::new(move |chunk: &[String]| {
            let mut pipe = redis::pipe();
            for l in chunk {
                pipe.cmd("XADD").arg(&key).arg("*").arg("data").arg(l);
            }
            let _: () = pipe.query(&mut redis).unwrap();
        }),
        points,
    }
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
    redis_to_postgres(1);
}

/// The same on a cluster of three processes: each partition is written by the worker that
/// owns it, under the same commit markers.
#[test]
fn kill_9_of_any_process_of_a_cluster_loses_nothing_and_counts_nothing_twice() {
    redis_to_postgres(3);
}

fn redis_to_postgres(processes: usize) {
    let (Some(pg), Some(redis_url)) = (pg_url(), service("SLUICE_TEST_REDIS_URL")) else {
        return;
    };
    let id = std::process::id();
    let (key, table) = (
        format!("wal-{id}-{processes}"),
        format!("wal_counts_{id}_{processes}"),
    );
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
    let prelude = format!(
        "sink jdbc = postgres(url: env(\"PG_URL\", \"postgresql://localhost/sluice\"), table: \"{table}(item, count)\")\n"
    );
    let points: Vec<&str> = WAL_POINTS
        .iter()
        .copied()
        .chain(["sink_commit.before", "sink_commit.after"])
        .collect();
    let mut crash = redis_loop(
        dir.path(),
        &redis_url,
        &key,
        (
            &prelude,
            "wal",
            "flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc",
        ),
        &points,
    );
    crash.env.push(("PG_URL".into(), pg.clone()));
    crash.processes = processes;
    crash.run(|| counts().values().sum::<i64>() >= total);
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
    state_through_checkpoints(1);
}

/// The same on a cluster of three processes: every worker checkpoints its own keys, and a
/// restart resumes each from the last checkpoint all of them completed.
#[test]
fn kill_9_of_any_process_of_a_cluster_keeps_state_exact_through_checkpoints() {
    state_through_checkpoints(3);
}

fn state_through_checkpoints(processes: usize) {
    let Some(redis_url) = service("SLUICE_TEST_REDIS_URL") else {
        return;
    };
    let key = format!("state-{}-{processes}", std::process::id());
    let want = word_counts(&corpus());
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<&str> = WAL_POINTS
        .iter()
        .copied()
        .chain(["checkpoint.before", "checkpoint.after"])
        .collect();
    let mut crash = redis_loop(
        dir.path(),
        &redis_url,
        &key,
        (
            "",
            "state",
            "flatMap split | map (w, 1)\n  \
             | updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) } }\n  \
             | saveAsTextFiles(\"out/state\")",
        ),
        &points,
    );
    crash.processes = processes;
    crash.run(|| newest_state(dir.path()) == want);
    assert_exact(&newest_state(dir.path()), &want);
}

/// Kafka direct source into PostgreSQL, exactly once: 60 keys, each with the sequence
/// numbers 1 to 50, spread over 3 partitions; the table gets a row per record, and every
/// (key, sequence number) must be there exactly once.
#[test]
fn kill_9_over_a_kafka_direct_source_writes_every_record_to_postgres_exactly_once() {
    kafka_to_postgres(1);
}

/// The same on a cluster of three processes, each worker reading the Kafka partitions of
/// each batch it owns from the broker itself.
#[test]
fn kill_9_of_any_process_of_a_cluster_over_kafka_writes_every_record_exactly_once() {
    kafka_to_postgres(3);
}

fn kafka_to_postgres(processes: usize) {
    let (Some(pg), Some(broker)) = (pg_url(), service("SLUICE_TEST_KAFKA_BROKER")) else {
        return;
    };
    let id = std::process::id();
    let (topic, table) = (
        format!("exactly-once-{id}-{processes}"),
        format!("kafka_seqs_{id}_{processes}"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &pg);
    rt.block_on(client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")))
        .unwrap();
    let lines = kafka::seq_lines(60, 50);
    let want = kafka::seq_expected(&lines);
    let t = kafka::Topic::create(&broker, &topic, 3);
    let mut chunks = 0;
    let dir = tempfile::tempdir().unwrap();
    CrashLoop {
        dir: dir.path(),
        flow: kafka::seq_flow(&topic, &table, "  maxRatePerPartition = 2000\n"),
        env: vec![
            ("PG_URL".into(), pg.clone()),
            ("KAFKA_BROKERS".into(), broker.clone()),
        ],
        lines,
        feed: Box::new(move |chunk: &[String]| {
            t.produce(chunks % t.partitions(), chunk);
            chunks += 1;
        }),
        points: &[
            "allocation.before",
            "allocation.after",
            "sink_commit.before",
            "sink_commit.after",
            "batch_completed.before",
            "batch_completed.after",
        ],
        processes,
    }
    .run(|| kafka::seq_rows(&rt, &client, &table).values().sum::<i64>() >= want.len() as i64);
    assert_exact(&kafka::seq_rows(&rt, &client, &table), &want);
}
