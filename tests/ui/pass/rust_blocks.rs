// Embedded Rust closures in `stream!`: typed by their signatures, spliced as written.
fn main() {
    let p = sluice::stream! {
        socket("127.0.0.1", 9999)
            | flatMap { |line: String| -> Vec<String> { line.split(',').map(str::to_owned).collect() } }
            | map { |w: String| -> (String, i64) { (w.to_uppercase(), 1) } }
            | reduceByKey { |a: i64, b: i64| -> i64 { a.max(b) } }
            | print
    };
    assert_eq!(p.name, "stream");
}
