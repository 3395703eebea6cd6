// flow::type::not_hashable through `stream!`; generated from tests/fixtures/codes/flow.type.not_hashable.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        socket("h", 1) | map (1.5, line) | groupByKey | print
    };
}
