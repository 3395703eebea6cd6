//! `sluice::flow!("file.flow")`: a pipeline kept in a file of the crate, compiled with the
//! crate (its embedded Rust calls the crate's own functions), and run.

use std::sync::Mutex;
use std::time::Duration;

static SEEN: Mutex<Vec<(String, i64)>> = Mutex::new(Vec::new());

/// Called by the pipeline in `tests/fixtures/macro_counts.flow`.
pub fn record(batch: Vec<(String, i64)>) {
    SEEN.lock().unwrap().extend(batch);
}

#[test]
fn flow_compiles_a_file_of_the_crate_and_runs_it() {
    let p = sluice::flow!("tests/fixtures/macro_counts.flow");
    let settings = (p.settings)();
    assert_eq!(settings.batch_interval, Duration::from_millis(100));
    let mut ssc = p.context(settings).unwrap();
    ssc.start().unwrap();
    let total = || SEEN.lock().unwrap().iter().map(|(_, n)| n).sum::<i64>();
    for _ in 0..400 {
        if total() == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ssc.stop(true).unwrap();
    let mut seen = SEEN.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("a".to_string(), 2),
            ("b".to_string(), 1),
            ("b".to_string(), 1)
        ]
    );
}
