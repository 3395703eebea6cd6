// flow::window::not_multiple through `stream!`; generated from tests/fixtures/codes/flow.window.not_multiple.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | window(2500ms, 1s) | print
    };
}
