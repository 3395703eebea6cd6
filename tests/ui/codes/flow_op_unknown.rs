// flow::op::unknown through `stream!`; generated from tests/fixtures/codes/flow.op.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | flatmap split | print
    };
}
