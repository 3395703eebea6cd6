// flow::arg::not_constant through `stream!`; generated from tests/fixtures/codes/flow.arg.not_constant.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", x) | print
    };
}
