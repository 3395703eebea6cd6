// Every kind of setting through `stream!`: durations, counts (into `usize` and `u32`
// fields), rates, flags, the speculation switch, a choice and a directory.
use sluice::__private::{BatchFailure, Speculation};
use std::time::Duration;

fn main() {
    let p = sluice::stream! {
        settings {
            batch = 500ms, blockInterval = 100ms, partitions = 3, taskMaxFailures = 2,
            maxRate = 1000, backpressure = true, speculation = true,
            onBatchFailure = "stop", checkpoint = "ckpt"
        }
        socket("127.0.0.1", 9999) | flatMap split | map (w, 1) | reduceByKey + | print
    };
    let s = (p.settings)();
    assert_eq!(s.batch_interval, Duration::from_millis(500));
    assert_eq!(s.block_interval, Duration::from_millis(100));
    assert_eq!(s.shuffle_partitions, 3);
    assert_eq!(s.task_max_failures, 2);
    assert_eq!(s.receiver_max_rate, 1000);
    assert!(s.backpressure);
    assert_eq!(s.speculation, Some(Speculation::default()));
    assert_eq!(s.on_batch_failure, BatchFailure::Stop);
    assert_eq!(s.checkpoint_dir.as_deref(), Some(std::path::Path::new("ckpt")));
}
