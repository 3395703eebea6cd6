// flow::sink::table through `stream!`; generated from tests/fixtures/codes/flow.sink.table.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        sink db = sqlite(path: "x", table: "t(k)")
        socket("h", 1) | print
    };
}
