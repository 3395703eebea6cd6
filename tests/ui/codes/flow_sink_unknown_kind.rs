// flow::sink::unknown_kind through `stream!`; generated from tests/fixtures/codes/flow.sink.unknown_kind.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        sink db = mysql(path: "x", table: "t(k, v)")
        socket("h", 1) | print
    };
}
