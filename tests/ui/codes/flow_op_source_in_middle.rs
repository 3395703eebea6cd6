// flow::op::source_in_middle through `stream!`; generated from tests/fixtures/codes/flow.op.source_in_middle.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | socket("h", 1) | print
    };
}
