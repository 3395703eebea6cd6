//! The seed's word count written inside Rust with `stream!`: checked when this file
//! compiles, and run like any pipeline.
//!
//!   nc -lk 9999 &      # or any line server
//!   cargo run --example stream_macro -- --for 10s

fn main() -> std::process::ExitCode {
    let pipeline = sluice::stream! {
        settings { batch = 1s }
        socket("127.0.0.1", 9999) | flatMap split | map (w, 1) | reduceByKey + | print
    };
    sluice::__private::app::main(pipeline)
}
