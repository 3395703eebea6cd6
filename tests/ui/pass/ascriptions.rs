// Type ascriptions on lambda parameters, through `stream!` (its tokens are rendered with
// spaces, which the grammar accepts inside bracketed types).
fn main() {
    let p = sluice::stream! {
        socket("127.0.0.1", 9999) | flatMap split | map (w: String) => (w, 1)
          | map (p: (String, i64)) => p | filter (w: String, n: i64) => n > 0 | print
    };
    assert_eq!(p.name, "stream");
}
