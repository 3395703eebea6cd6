// flow::op::not_a_source through `stream!`; generated from tests/fixtures/codes/flow.op.not_a_source.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        map (w, 1) | print
    };
}
