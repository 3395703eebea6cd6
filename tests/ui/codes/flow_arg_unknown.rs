// flow::arg::unknown through `stream!`; generated from tests/fixtures/codes/flow.arg.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket(host: "h", port: 1, timeout: 5s) | print
    };
}
