// flow::syntax::invalid_literal through `stream!`; generated from tests/fixtures/codes/flow.syntax.invalid_literal.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | print(99999999999999999999)
    };
}
