// flow::type::operator through `stream!`; generated from tests/fixtures/codes/flow.type.operator.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map w + 1 | print
    };
}
