// The seed's pipeline through `stream!`: it compiles, and its settings are the file's.
fn main() {
    let p = sluice::stream! {
        settings { batch = 250ms, partitions = 3 }
        let counts = socket("127.0.0.1", 9999) | flatMap split | map (w, 1) | reduceByKey +
        counts | print(5)
        counts | filter (w, n) => n > 1 | saveAsTextFiles("out/wc", "txt")
    };
    let s = (p.settings)();
    assert_eq!(s.batch_interval, std::time::Duration::from_millis(250));
    assert_eq!(s.shuffle_partitions, 3);
}
