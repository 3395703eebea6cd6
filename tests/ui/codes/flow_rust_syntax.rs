// flow::rust::syntax through `stream!`; generated from tests/fixtures/codes/flow.rust.syntax.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        receiver { struct NotAnExpression; } | print
    };
}
