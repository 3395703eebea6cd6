// flow::sink::unused through `stream!`; generated from tests/fixtures/codes/flow.sink.unused.flow by tests/diagnostic_codes.rs.
#![deny(deprecated)]
fn main() {
    let _ = sluice::stream! {
        sink db = sqlite(path: "x.db", table: "t(k, v)")
        socket("h", 1) | print
    };
}
