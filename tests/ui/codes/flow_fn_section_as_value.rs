// flow::fn::section_as_value through `stream!`; generated from tests/fixtures/codes/flow.fn.section_as_value.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (1, +) | print
    };
}
