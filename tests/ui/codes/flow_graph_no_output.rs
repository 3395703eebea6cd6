// flow::graph::no_output through `stream!`; generated from tests/fixtures/codes/flow.graph.no_output.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (w, 1)
    };
}
