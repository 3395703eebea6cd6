// flow::fn::arity through `stream!`; generated from tests/fixtures/codes/flow.fn.arity.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map + | print
    };
}
