// flow::sink::unknown through `stream!`; generated from tests/fixtures/codes/flow.sink.unknown.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        sink db = sqlite(path: "x.db", table: "t(k, v)")
        socket("h", 1) | map (w, 1) | foreachPartition bd
    };
}
