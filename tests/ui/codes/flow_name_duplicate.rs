// flow::name::duplicate through `stream!`; generated from tests/fixtures/codes/flow.name.duplicate.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        let a = socket("h", 1)
        let a = socket("h", 1)
        a | print
    };
}
