// flow::type::not_a_pair through `stream!`; generated from tests/fixtures/codes/flow.type.not_a_pair.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | reduceByKey + | print
    };
}
