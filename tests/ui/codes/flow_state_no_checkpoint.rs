// flow::state::no_checkpoint through `stream!`; generated from tests/fixtures/codes/flow.state.no_checkpoint.flow by tests/diagnostic_codes.rs.
#![deny(deprecated)]
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (w, 1) | updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { s } } | print
    };
}
