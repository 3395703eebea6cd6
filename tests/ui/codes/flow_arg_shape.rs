// flow::arg::shape through `stream!`; generated from tests/fixtures/codes/flow.arg.shape.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        queueStream(["a"]) | print
    };
}
