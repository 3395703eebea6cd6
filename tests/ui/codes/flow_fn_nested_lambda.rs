// flow::fn::nested_lambda through `stream!`; generated from tests/fixtures/codes/flow.fn.nested_lambda.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map split(x => x) | print
    };
}
