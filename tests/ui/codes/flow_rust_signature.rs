// flow::rust::signature through `stream!`; generated from tests/fixtures/codes/flow.rust.signature.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (w, 1) | mapWithState { |k: &String, v: Option<String>, s: &mut State<i64>| -> i64 { 1 } } | print
    };
}
