// flow::type::ascription through `stream!`; generated from tests/fixtures/codes/flow.type.ascription.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (w: i64) => (w, 1) | print
    };
}
