//! `stream!` at compile time: a valid pipeline compiles; each mistake is one error, with
//! the same code as `sluice check`, spanned on the user's own tokens (committed `.stderr`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
    t.compile_fail("tests/ui/codes/*.rs");
}
