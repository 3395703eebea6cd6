// flow::rust::not_closure through `stream!`; generated from tests/fixtures/codes/flow.rust.not_closure.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map { 1 + 2 } | print
    };
}
