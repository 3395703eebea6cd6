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
    let q = sluice::stream! {
        let lines = socket("127.0.0.1", 9999) | repartition(2)
        lines | glom | map { |p: Vec<String>| -> i64 { p.len() as i64 } } | print
        lines | mapPartitions { |p: Vec<String>| -> Vec<i64> { vec![p.len() as i64] } } | print
        lines | transform { |b: Vec<String>| -> Vec<String> { b.into_iter().rev().collect() } } | print
        lines | map (line, 1) | foreachRDD { |b: Vec<(String, i64)>, t: i64| { let _ = (b.len(), t); } }
        lines | foreachRDD { |b: Vec<String>| { let _ = b; } }
    };
    assert_eq!((q.settings)().batch_interval, std::time::Duration::from_secs(1));
    let r = sluice::stream! {
        socket("127.0.0.1", 9999) | flatMap split | map (w, 1)
            | updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) } }
            | print
    };
    assert_eq!(r.name, "stream");
    let m = sluice::stream! {
        socket("127.0.0.1", 9999) | flatMap split | map (w, 1)
            | mapWithState(timeout: 30s) { |k: &String, v: Option<i64>, s: &mut State<i64>| -> (String, i64) {
                if s.is_timing_out() { return (k.clone(), -1) }
                let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
                s.update(n);
                (k.clone(), n)
            } }
            | print
    };
    assert_eq!(m.name, "stream");
}
