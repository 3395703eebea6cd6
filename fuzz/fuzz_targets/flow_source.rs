//! DSL source is untrusted: any text must compile to diagnostics or a graph, never a
//! panic, with every diagnostic's span inside the text and on character boundaries.
#![no_main]

libfuzzer_sys::fuzz_target!(|src: &str| {
    let c = sluice_dsl::analyze(src);
    for d in &c.diagnostics {
        let s = d.primary.span;
        assert!(s.start <= s.end && s.end <= src.len());
        assert!(src.is_char_boundary(s.start) && src.is_char_boundary(s.end));
    }
    let _ = sluice_dsl::render("fuzz.flow", src, &c.diagnostics);
});
