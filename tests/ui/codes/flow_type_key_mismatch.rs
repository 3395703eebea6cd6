// flow::type::key_mismatch through `stream!`; generated from tests/fixtures/codes/flow.type.key_mismatch.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        let n = socket("h", 1) | map (len(line), 1)
        socket("h", 1) | map (line, 1) | join n | print
    };
}
