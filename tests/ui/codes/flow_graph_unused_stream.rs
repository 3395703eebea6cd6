// flow::graph::unused_stream through `stream!`; generated from tests/fixtures/codes/flow.graph.unused_stream.flow by tests/diagnostic_codes.rs.
#![deny(deprecated)]
fn main() {
    let _ = sluice::stream! {
        let a = socket("h", 1)
        socket("h", 1) | print
    };
}
