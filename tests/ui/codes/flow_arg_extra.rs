// flow::arg::extra through `stream!`; generated from tests/fixtures/codes/flow.arg.extra.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1, ";", 2) | print
    };
}
