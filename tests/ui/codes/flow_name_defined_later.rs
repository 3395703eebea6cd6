// flow::name::defined_later through `stream!`; generated from tests/fixtures/codes/flow.name.defined_later.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        let a = queueStream([[1]])
        b | print
        let b = a | map x => x + 1
    };
}
