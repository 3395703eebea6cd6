// flow::graph::let_output through `stream!`; generated from tests/fixtures/codes/flow.graph.let_output.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        let a = socket("h", 1) | print
    };
}
