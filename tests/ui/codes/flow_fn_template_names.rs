// flow::fn::template_names through `stream!`; generated from tests/fixtures/codes/flow.fn.template_names.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (a, b) | print
    };
}
