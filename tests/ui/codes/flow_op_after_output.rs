// flow::op::after_output through `stream!`; generated from tests/fixtures/codes/flow.op.after_output.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | print | print
    };
}
