//! A custom receiver written as a Rust expression in a `.flow` file (`receiver { … }`),
//! run by `sluice run`: here the runtime's socket receiver with a `;` delimiter, built by
//! hand, its records counted exactly.

mod common;

use common::*;
use std::collections::BTreeMap;

#[test]
fn a_receiver_given_as_a_rust_expression_feeds_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (l, port) = listener();
    let feeder = feed(l, vec![b"a;b;a;c c;".repeat(50)]);
    let flow = write_flow(
        dir.path(),
        "custom.flow",
        &format!(
            "settings {{ batch = 200ms }}\n\
             receiver {{ ::sluice_runtime::receiver::SocketReceiver::with_delimiter(\"127.0.0.1\", {port}, b';') }}\n  \
             | map (r, 1) | reduceByKey + | saveAsTextFiles(\"out/r\")\n"
        ),
    );
    run_flow(dir.path(), &flow, &["--for", "2s"], &[]);
    feeder.join().unwrap();
    let (counts, _) = sum_text_files(&dir.path().join("out"), "r");
    let want: BTreeMap<String, i64> = [("a", 100), ("b", 50), ("c c", 50)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_counts(&counts, &want);
}
