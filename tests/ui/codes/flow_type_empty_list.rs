// flow::type::empty_list through `stream!`; generated from tests/fixtures/codes/flow.type.empty_list.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        queueStream([[], []]) | print
    };
}
