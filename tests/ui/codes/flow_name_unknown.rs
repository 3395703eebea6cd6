// flow::name::unknown through `stream!`; generated from tests/fixtures/codes/flow.name.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map x => y | print
    };
}
