// flow::arg::range through `stream!`; generated from tests/fixtures/codes/flow.arg.range.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 70000) | print
    };
}
