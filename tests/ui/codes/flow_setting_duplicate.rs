// flow::setting::duplicate through `stream!`; generated from tests/fixtures/codes/flow.setting.duplicate.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        settings { batch = 1s, batch = 2s }
        socket("h", 1) | print
    };
}
