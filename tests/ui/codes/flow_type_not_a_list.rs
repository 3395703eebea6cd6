// flow::type::not_a_list through `stream!`; generated from tests/fixtures/codes/flow.type.not_a_list.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | flatMap lower | print
    };
}
