// flow::setting::unknown through `stream!`; generated from tests/fixtures/codes/flow.setting.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        settings { bach = 1s }
        socket("h", 1) | print
    };
}
