//! Helpers the end-to-end tests share: the CLI, services, feeders, expected counts.
#![allow(dead_code, unused_imports)]

pub mod kafka;
mod services;
pub use services::{pg_client, service};

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `sluice` binary cargo built for these tests.
pub fn sluice() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    if std::env::var_os("SLUICE_TARGET_DIR").is_none() {
        // Under plain `cargo test`, cargo holds the workspace target's lock while tests
        // run; pipelines then build beside it instead of waiting for it.
        cmd.env("SLUICE_TARGET_DIR", repo().join("target").join("pipelines"));
    }
    cmd
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The PostgreSQL that `scripts/test.sh` started.
pub fn pg_url() -> Option<String> {
    service("SLUICE_TEST_PG_URL")
}

/// A listener on a free loopback port; the port is taken until the listener is dropped.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Serves each payload to one connection, in order, closing each after it is sent.
pub fn feed(listener: TcpListener, payloads: Vec<Vec<u8>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for p in payloads {
            let (mut conn, _) = listener.accept().expect("the pipeline connects");
            conn.write_all(&p).expect("send the payload");
        }
    })
}

/// Word counts as `split` defines words: runs of whitespace separate them.
pub fn word_counts(text: &str) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for w in text.split_whitespace() {
        *m.entry(w.to_string()).or_insert(0) += 1;
    }
    m
}

pub fn corpus() -> String {
    std::fs::read_to_string(repo().join("examples/data/corpus.txt")).expect("the bundled corpus")
}

/// Writes a .flow file into `dir`.
pub fn write_flow(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Builds `file` with `sluice build --dev ARGS…` and returns the program's path.
pub fn build_flow(file: &Path, args: &[&str]) -> PathBuf {
    let built = sluice()
        .args(["build", "--dev"])
        .args(args)
        .arg(file)
        .output()
        .expect("run sluice build");
    assert!(
        built.status.success(),
        "sluice build failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    PathBuf::from(String::from_utf8(built.stdout).unwrap().trim())
}

/// Runs `sluice run --dev FILE ARGS…`, from `cwd`, to completion.
pub fn run_flow(cwd: &Path, file: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = sluice();
    cmd.current_dir(cwd)
        .arg("run")
        .arg("--dev")
        .arg(file)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run sluice");
    if !out.status.success() {
        panic!(
            "sluice run failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Sums `(word,count)` lines over every batch directory `PREFIX-<ms>` in `dir`.
pub fn sum_text_files(dir: &Path, prefix: &str) -> (BTreeMap<String, i64>, usize) {
    let mut total = BTreeMap::new();
    let mut batches = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(ms) = name.strip_prefix(&format!("{prefix}-")) else {
            continue;
        };
        assert!(
            ms.parse::<u64>().is_ok(),
            "batch directory named by time: {name}"
        );
        assert!(path.join("_SUCCESS").exists(), "{name} is complete");
        batches += 1;
        for part in std::fs::read_dir(&path).unwrap() {
            let part = part.unwrap().path();
            if !part
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("part-")
            {
                continue;
            }
            for line in std::fs::read_to_string(&part).unwrap().lines() {
                let inner = line
                    .strip_prefix('(')
                    .and_then(|l| l.strip_suffix(')'))
                    .expect("(word,count)");
                let (w, n) = inner.rsplit_once(',').unwrap();
                *total.entry(w.to_string()).or_insert(0) += n.parse::<i64>().unwrap();
            }
        }
    }
    (total, batches)
}

/// The JSON objects of a batch log.
pub fn batch_log(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Asserts equal counts; on failure says how they differ without printing every word.
pub fn assert_counts(got: &BTreeMap<String, i64>, want: &BTreeMap<String, i64>) {
    if got == want {
        return;
    }
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    let wrong: Vec<_> = want
        .iter()
        .filter_map(|(k, v)| got.get(k).filter(|g| *g != v).map(|g| (k, *g, *v)))
        .take(5)
        .collect();
    panic!(
        "counts differ: {} words got, {} wanted, totals {} vs {}; missing e.g. {missing:?}; extra e.g. {extra:?}; wrong (word, got, want) e.g. {wrong:?}",
        got.len(),
        want.len(),
        got.values().sum::<i64>(),
        want.values().sum::<i64>()
    );
}

/// Sends SIGTERM to `child` (a graceful stop).
pub fn terminate(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {}", child.id());
}
