//! The status page of a running pipeline, in a real headless browser (Debian's chromium,
//! which `scripts/test.sh` installs): it loads the page, runs its script against
//! `/api/status`, shows the batches that ran, the receiver and the graph, and leaves a
//! screenshot under `target/test-output/`. `/metrics` is parsed and its counters checked
//! against the batches the pipeline's batch log (a listener) recorded.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `GET path` on `addr`: the response body.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    body.to_string()
}

/// The samples of a Prometheus text exposition, by name with labels.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse::<f64>().unwrap())
        })
        .collect()
}

/// Runs chromium headless on `url` with `extra` arguments, letting the page's script run
/// for 3 s of virtual time; its standard output.
fn chromium(bin: &str, url: &str, extra: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_status_page_shows_the_batches_in_a_browser_and_metrics_match_the_batch_log() {
    let Some(browser) = service("SLUICE_TEST_CHROMIUM") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = listener();
    let flow = write_flow(
        dir.path(),
        "status.flow",
        &format!(
            "settings {{ batch = 200ms }}\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | print\n"
        ),
    );
    let program = build_flow(&flow, &[]);
    let batch_log = dir.path().join("batches.jsonl");
    let mut child = Command::new(&program)
        .args(["--ui", "127.0.0.1:0", "--for", "120s", "--batch-log"])
        .arg(&batch_log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the pipeline exited"
        );
        if let Some(rest) = line.split_once("status page at http://") {
            break rest.1.trim().trim_end_matches('/').to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (mut conn, _) = server.accept().unwrap();
    for i in 0..300 {
        writeln!(conn, "alpha beta w{}", i % 7).unwrap();
    }
    conn.flush().unwrap();
    // Input records are what the receiver stored: lines.
    let lines = 300.0;

    // Every record has reached a completed batch.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: serde_json::Value = serde_json::from_str(&get(&addr, "/api/status")).unwrap();
        if status["totals"]["input_records"].as_f64() == Some(lines) {
            assert_eq!(status["receivers"][0]["active"], true, "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "records never all arrived: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The browser runs the page's script: batch rows, the receiver, the drawn graph.
    let url = format!("http://{addr}/");
    let dom = chromium(&browser, &url, &["--dump-dom"]);
    let rows = dom.matches("<tr class=\"batch\">").count();
    assert!(rows >= 1, "no batch rows in the page:\n{dom}");
    assert!(dom.contains("batches completed: "), "{dom}");
    assert!(dom.contains(&format!("records: {lines}")), "totals: {dom}");
    assert!(dom.contains(">active<"), "receiver state: {dom}");
    assert!(dom.contains(">reduceByKey +<"), "graph: {dom}");
    let shots = repo().join("target/test-output");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &url,
        &[
            "--window-size=1280,1800",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );

    // The metrics agree with the batch log, read between two scrapes.
    let before = samples(&get(&addr, "/metrics"));
    let logged: Vec<serde_json::Value> = std::fs::read_to_string(&batch_log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let after = samples(&get(&addr, "/metrics"));
    let completed = |m: &BTreeMap<String, f64>| m["sluice_batches_completed_total"];
    assert!(
        completed(&before) <= logged.len() as f64 && logged.len() as f64 <= completed(&after),
        "{} logged, metrics {} then {}",
        logged.len(),
        completed(&before),
        completed(&after)
    );
    let logged_records: f64 = logged.iter().map(|b| b["records"].as_f64().unwrap()).sum();
    assert_eq!(logged_records, lines);
    assert_eq!(after["sluice_input_records_total"], lines);
    assert_eq!(
        after["sluice_total_delay_seconds_count"],
        completed(&after),
        "one delay observed per batch"
    );
    assert_eq!(after["sluice_batch_interval_seconds"], 0.2);
    assert_eq!(after["sluice_receivers_active"], 1.0);
    assert_eq!(after["sluice_batches_failed_total"], 0.0);

    terminate(&child);
    assert!(
        child.wait().unwrap().success(),
        "a graceful stop on SIGTERM"
    );
}
