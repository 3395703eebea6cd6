// Every per-batch operator's generated code type-checks against the runtime.
fn main() {
    let p = sluice::stream! {
        let other = textFileStream("incoming")
        let lines = socket("127.0.0.1", 9999) | union other
        lines | count | print
        lines | map len(line) | reduce + | print
        lines | flatMap split | countByValue | mapValues n => n * 2 | print
        lines | map (line, line) | flatMapValues split | groupByKey | print
        lines | filter line != "" | map (line, 1.5) | reduceByKey + | print
        lines | map (line, len(line)) | combineByKey(n => (n, 1), (c, n) => (c.0 + n, c.1 + 1), (a, b) => (a.0 + b.0, a.1 + b.1)) | print
        lines | window(3s, 2s) | window(4s) | count | print
        lines | flatMap split | map (w, 1) | reduceByKeyAndWindow(+, 30s, 2s) | print
        lines | flatMap split | map (w, 1) | reduceByKeyAndWindow(+, -, 30s, 2s, filter: (w, n) => n > 0) | print
        lines | map len(line) | reduceByWindow((a, b) => a + b, 4s) | print
        lines | countByWindow(10s, 2s) | print
        lines | flatMap split | countByValueAndWindow(10s, 2s) | print
        lines | map (line, 1) | groupByKeyAndWindow(10s) | print
    };
    assert_eq!(p.name, "stream");
    let q = sluice::stream! {
        let clicks = socket("127.0.0.1", 9998) | map (line, 1.5)
        let views = socket("127.0.0.1", 9999) | map (line, 2)
        views | join clicks | print
        views | leftOuterJoin clicks | print
        views | rightOuterJoin clicks | print
        views | fullOuterJoin clicks | print
        views | cogroup clicks | print
    };
    assert_eq!(q.name, "stream");
}
