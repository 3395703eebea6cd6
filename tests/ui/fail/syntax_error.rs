fn main() {
    let _ = sluice::stream! {
        socket("127.0.0.1" 9999) | flatMap split | print
    };
}
