// flow::graph::cycle through `stream!`; generated from tests/fixtures/codes/flow.graph.cycle.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        let a = queueStream([[1]]) | union b
        let b = a | map x => x + 1
        b | print
    };
}
