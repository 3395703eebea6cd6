//! Socket bytes are untrusted: any bytes, cut anywhere, are framed into valid UTF-8
//! records or counted as skipped — every line accounted for, never a panic.
#![no_main]

use sluice_runtime::receiver::LineFramer;

libfuzzer_sys::fuzz_target!(|input: (u8, Vec<u16>, &[u8])| {
    let (max, cuts, bytes) = input;
    let max = 1 + max as usize;
    let mut framer = LineFramer::new(max);
    let mut rest = bytes;
    for c in cuts {
        if rest.is_empty() {
            break;
        }
        let n = 1 + c as usize % rest.len();
        framer.push(&rest[..n]);
        rest = &rest[n..];
    }
    framer.push(rest);
    framer.finish();
    let (text, records) = framer.output();
    assert_eq!(text.split_terminator('\n').count(), records);
    assert!(text.split_terminator('\n').all(|l| l.len() <= max));
    let lines = bytes.split(|&b| b == b'\n').count()
        - usize::from(bytes.is_empty() || bytes.last() == Some(&b'\n'));
    let skipped: u64 = framer.take_skips().map(|(_, n)| n).sum();
    assert_eq!(records + skipped as usize, lines);
});
