// flow::setting::type through `stream!`; generated from tests/fixtures/codes/flow.setting.type.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        settings { batch = 5 }
        socket("h", 1) | print
    };
}
