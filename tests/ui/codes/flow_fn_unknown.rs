// flow::fn::unknown through `stream!`; generated from tests/fixtures/codes/flow.fn.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map spilt(w) | print
    };
}
