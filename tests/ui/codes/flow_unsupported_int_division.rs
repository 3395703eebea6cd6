// flow::unsupported::int_division through `stream!`; generated from tests/fixtures/codes/flow.unsupported.int_division.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (w, 1) | map (k, v) => v / 2 | print
    };
}
