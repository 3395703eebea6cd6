// flow::rust::return_type through `stream!`; generated from tests/fixtures/codes/flow.rust.return_type.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map { |w: String| w } | print
    };
}
