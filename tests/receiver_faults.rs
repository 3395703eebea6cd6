//! A feeder that dies and comes back, and garbage on the socket: counting goes on, the
//! restart is reported, and bad records are counted and reported — never a crash.

mod common;

use common::*;

#[test]
fn counting_survives_a_reconnect_and_garbage_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut payload1 = (first.join("\n") + "\n").into_bytes();
    payload1.extend_from_slice(b"\xff\xfe\xfd invalid utf-8\n");
    payload1.extend(std::iter::repeat_n(b'x', 50 << 20));
    payload1.push(b'\n');
    let payload2 = (second.join("\n") + "\n").into_bytes();

    let (l, port) = listener();
    let feeder = feed(l, vec![payload1, payload2]);
    let flow = write_flow(
        dir.path(),
        "faults.flow",
        &format!(
            "settings {{ batch = 200ms, receiverRestartDelay = 100ms }}\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    let log = dir.path().join("batches.jsonl");
    let out = run_flow(
        dir.path(),
        &flow,
        &["--for", "5s", "--batch-log", log.to_str().unwrap()],
        &[],
    );
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    let (counts, _) = sum_text_files(&dir.path().join("out"), "wc");
    assert_counts(&counts, &word_counts(&text));
    assert!(
        stderr.contains("skipped 1 record(s): not valid UTF-8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped 1 record(s): longer than max_record_bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("closed the connection; reconnecting"),
        "{stderr}"
    );
    let records: u64 = batch_log(&log)
        .iter()
        .map(|b| b["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records as usize, lines.len());
}

#[test]
fn sigterm_stops_gracefully_after_finishing_what_was_received() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let (l, port) = listener();
    let flow = write_flow(
        dir.path(),
        "term.flow",
        &format!(
            "settings {{ batch = 300ms }}\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    // Build first, so that the run below starts at once (`sluice run` finds the build);
    // `-o` also puts a copy of the program where asked.
    let copy = dir.path().join("term-bin");
    let built = build_flow(&flow, &["-o", copy.to_str().unwrap()]);
    assert_eq!(built, copy);
    let help = std::process::Command::new(&copy)
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--batch-log"));

    let child = sluice()
        .args(["run", "--dev"])
        .arg(&flow)
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut conn, _) = l.accept().unwrap();
    std::io::Write::write_all(&mut conn, text.as_bytes()).unwrap();
    // Keep the connection open: the pipeline must not need the peer to close.
    std::thread::sleep(std::time::Duration::from_millis(150));
    terminate(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit 0 after SIGTERM: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopping gracefully (SIGTERM)"), "{stderr}");
    assert!(
        !stderr.contains("sluice: building"),
        "the second run of an unchanged file reuses the build: {stderr}"
    );
    let (counts, _) = sum_text_files(&dir.path().join("out"), "wc");
    assert_counts(&counts, &word_counts(&text));
}

#[test]
fn an_unreachable_database_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (l, port) = listener();
    drop(l);
    let flow = write_flow(
        dir.path(),
        "nodb.flow",
        &format!(
            "sink jdbc = postgres(url: \"postgresql://postgres:hunter2@127.0.0.1:{port}/none\", table: \"t(item, count)\")\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc\n"
        ),
    );
    let out = sluice()
        .args(["run", "--dev"])
        .arg(&flow)
        .args(["--for", "1s"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sink `jdbc`: cannot prepare PostgreSQL"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is never printed: {stderr}"
    );
}

/// `--log-format json`: every line on standard error is one JSON object with a level and a
/// message, the receiver's trouble among them.
#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: the receiver fails to connect, and says so.
    let (l, port) = listener();
    drop(l);
    let flow = write_flow(
        dir.path(),
        "json.flow",
        &format!(
            "settings {{ batch = 200ms, receiverRestartDelay = 100ms }}\n\
             socket(\"127.0.0.1\", {port}) | print\n"
        ),
    );
    let out = run_flow(
        dir.path(),
        &flow,
        &["--for", "1s", "--log-format", "json", "--no-ui"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.starts_with("sluice: "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["message"].is_string()),
        "{stderr}"
    );
    assert!(
        events.iter().any(|e| e["level"] == "WARN"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("127.0.0.1:{port}")))),
        "{stderr}"
    );
    assert!(
        events.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("stopping gracefully (--for)"))),
        "{stderr}"
    );
}
