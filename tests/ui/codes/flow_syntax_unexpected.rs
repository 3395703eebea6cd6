// flow::syntax::unexpected through `stream!`; generated from tests/fixtures/codes/flow.syntax.unexpected.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h" 1) | print
    };
}
