//! A compiled pipeline on a timely cluster of three processes, each on its own loopback
//! address, as a user launches it (`--processes 3 --process I --hostfile F`): the same
//! text gives exactly the counts it gives on one process.

mod common;

use common::*;
use std::net::TcpListener;
use std::process::{Command, Stdio};

/// Serves `text` to one connection in 40 pieces 50 ms apart, so that every batch holds
/// several blocks (one per block interval), which spread over the workers.
fn trickle(listener: TcpListener, text: String) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::Write;
        let (mut conn, _) = listener.accept().expect("the pipeline connects");
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for piece in lines.chunks(lines.len().div_ceil(40)) {
            conn.write_all(piece.concat().as_bytes()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}

/// A free port on `ip`.
fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn word_count_on_three_processes_gives_exactly_the_counts_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let (l, port) = listener();
    drop(l);
    let flow = write_flow(
        dir.path(),
        "wc.flow",
        &format!(
            "settings {{ batch = 500ms, blockInterval = 100ms }}\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    let program = build_flow(&flow, &[]);

    // One process.
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    let feeder = trickle(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        text.clone(),
    );
    let status = Command::new(&program)
        .current_dir(&one)
        .args(["--for", "4s", "--no-ui"])
        .status()
        .unwrap();
    assert!(status.success());
    feeder.join().unwrap();
    let (counts_one, _) = sum_text_files(&one.join("out"), "wc");
    assert_counts(&counts_one, &word_counts(&text));

    // Three processes on 127.0.0.1, .2 and .3.
    let three = dir.path().join("three");
    std::fs::create_dir(&three).unwrap();
    let hosts: Vec<String> = (1..=3)
        .map(|i| {
            let ip = format!("127.0.0.{i}");
            format!("{ip}:{}", free_port(&ip))
        })
        .collect();
    let hostfile = dir.path().join("hosts");
    std::fs::write(&hostfile, hosts.join("\n")).unwrap();
    let feeder = trickle(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        text.clone(),
    );
    let processes: Vec<_> = (0..3)
        .map(|i| {
            Command::new(&program)
                .current_dir(&three)
                .args(["--for", "5s", "--no-ui", "--processes", "3", "--process"])
                .arg(i.to_string())
                .arg("--hostfile")
                .arg(&hostfile)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut logs = Vec::new();
    for (i, p) in processes.into_iter().enumerate() {
        let out = p.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "process {i} failed:\n{log}");
        logs.push(log);
    }
    feeder.join().unwrap();
    for (i, log) in logs.iter().enumerate() {
        eprintln!("--- process {i}:\n{log}");
    }
    let (counts_three, batches) = sum_text_files(&three.join("out"), "wc");
    assert!(batches >= 4, "{batches} batches");
    assert_counts(&counts_three, &counts_one);
    // Each of the other processes computed a share of the input.
    for (i, log) in logs.iter().enumerate().skip(1) {
        let ran = log
            .lines()
            .find_map(|l| l.split_once("ran ").map(|(_, r)| r.to_string()))
            .unwrap_or_else(|| panic!("process {i} says what it ran:\n{log}"));
        let partitions: usize = ran
            .split(", ")
            .nth(1)
            .and_then(|p| p.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{ran}"));
        assert!(partitions > 0, "process {i}: {ran}");
    }
}
