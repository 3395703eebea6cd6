//! `queueStream` as a user runs it: batches written in the `.flow` file itself, counted per
//! batch and printed in Spark's format by `sluice run`.

mod common;

use common::*;

#[test]
fn queued_batches_run_one_per_interval_and_print_in_spark_format() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write_flow(
        dir.path(),
        "queued.flow",
        "settings { batch = 100ms }\n\
         queueStream([[\"a b a\"], [], [\"b\"]]) | flatMap split | countByValue | print\n",
    );
    let out = run_flow(dir.path(), &flow, &["--for", "1s"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Spark's print: a `Time: <ms> ms` header between dashed lines, then the elements.
    let mut elements: Vec<Vec<&str>> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("Time: ") {
            elements.push(Vec::new());
        } else if !line.is_empty() && !line.starts_with("---") {
            elements.last_mut().expect("a header first").push(line);
        }
    }
    elements.iter_mut().for_each(|e| e.sort());
    assert!(elements.len() >= 3, "{stdout}");
    assert_eq!(elements[0], ["(a,2)", "(b,1)"], "{stdout}");
    assert!(elements[1].is_empty(), "{stdout}");
    assert_eq!(elements[2], ["(b,1)"], "{stdout}");
    assert!(elements[3..].iter().all(Vec::is_empty), "{stdout}");
}
