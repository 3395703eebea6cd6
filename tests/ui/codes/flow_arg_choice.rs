// flow::arg::choice through `stream!`; generated from tests/fixtures/codes/flow.arg.choice.flow by tests/diagnostic_codes.rs.
fn main() {
    let _ = sluice::stream! {
        kafka("127.0.0.1:9092", "words", start: "oldest") | print
    };
}
