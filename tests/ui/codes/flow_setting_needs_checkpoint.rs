// flow::setting::needs_checkpoint through `stream!`; generated from tests/fixtures/codes/flow.setting.needs_checkpoint.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        settings { writeAheadLog = true }
        socket("h", 1) | print
    };
}
