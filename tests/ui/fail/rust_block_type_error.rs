// A type error inside an embedded Rust block is rustc's, reported at the user's token.
fn main() {
    let _ = sluice::stream! {
        socket("127.0.0.1", 9999) | map { |w: String| -> i64 { w.len() } } | print
    };
}
