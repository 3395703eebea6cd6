// flow::arg::type through `stream!`; generated from tests/fixtures/codes/flow.arg.type.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket(1, 1) | print
    };
}
