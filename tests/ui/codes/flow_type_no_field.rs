// flow::type::no_field through `stream!`; generated from tests/fixtures/codes/flow.type.no_field.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map w.0 | print
    };
}
