//! Every diagnostic code the compiler has, as a user meets it: each has a case under
//! `tests/fixtures/codes/` (named after the code), whose `sluice check` rendering is a
//! snapshot here, and whose `stream!` twin under `tests/ui/codes/` (generated from the
//! same text; `SLUICE_BLESS=1` rewrites them) has its rustc output committed for
//! `tests/ui.rs`. A code added without a case, or a case for a code that is gone, fails.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Every `"flow::…::…"` literal in the compiler's source: the codes it can report.
fn codes_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("\"flow::") {
                    let rest = &text[at + 1..];
                    let code = &rest[..rest.find('"').unwrap()];
                    if code.split("::").count() == 3 {
                        out.insert(code.to_string());
                    }
                }
            }
        }
    }
    let mut codes = BTreeSet::new();
    walk(&repo().join("dsl/src"), &mut codes);
    codes
}

/// (code, fixture path relative to the repository), in code order.
fn cases() -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = std::fs::read_dir(repo().join("tests/fixtures/codes"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let code = name.strip_suffix(".flow").unwrap().replace('.', "::");
            (code, format!("tests/fixtures/codes/{name}"))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_code_has_exactly_one_case() {
    let cased: BTreeSet<String> = cases().into_iter().map(|(c, _)| c).collect();
    let known = codes_in_source();
    assert!(known.len() >= 40, "{} codes", known.len());
    assert_eq!(
        cased, known,
        "tests/fixtures/codes/ must hold one case per code"
    );
}

#[test]
fn every_code_renders_from_a_flow_file_at_its_place_with_help() {
    for (code, rel) in cases() {
        let out = sluice()
            .args(["check", &rel])
            .current_dir(repo())
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let warning_only = stderr.contains(": ok (");
        assert_eq!(
            out.status.code(),
            Some(if warning_only { 0 } else { 1 }),
            "{rel}: {stderr}"
        );
        assert!(
            stderr.lines().any(|l| l == code),
            "{rel} does not report {code}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{rel}:")),
            "{rel}: no location: {stderr}"
        );
        let flow = std::fs::read_to_string(repo().join(&rel)).unwrap();
        for d in sluice_dsl::check(&flow).iter().filter(|d| d.code == code) {
            assert!(d.help.is_some(), "{code} has no help line: {d:?}");
        }
        insta::assert_snapshot!(code.replace("::", "."), stderr);
    }
}

/// The `stream!` program of a case: the flow text inside the macro. A warning is made an
/// error (`deny(deprecated)`: the macro warns through a deprecated item) so that rustc's
/// output, which trybuild compares, shows it.
fn through_the_macro(code: &str, rel: &str, flow: &str, warning: bool) -> String {
    let body: String = flow
        .lines()
        .filter(|l| !l.starts_with("//"))
        .map(|l| format!("        {l}\n"))
        .collect();
    let deny = if warning {
        "#![deny(deprecated)]\n"
    } else {
        ""
    };
    format!(
        "// {code} through `stream!`; generated from {rel} by tests/diagnostic_codes.rs.\n\
         {deny}fn main() {{\n    let _ = sluice::stream! {{\n{body}    }};\n}}\n"
    )
}

#[test]
fn every_code_has_a_stream_macro_twin() {
    let dir = repo().join("tests/ui/codes");
    let bless = std::env::var_os("SLUICE_BLESS").is_some();
    let mut want = BTreeSet::new();
    for (code, rel) in cases() {
        let flow = std::fs::read_to_string(repo().join(&rel)).unwrap();
        let warning = sluice_dsl::check(&flow)
            .iter()
            .filter(|d| d.code == code)
            .all(|d| !d.is_error());
        let name = format!("{}.rs", code.replace("::", "_"));
        let fresh = through_the_macro(&code, &rel, &flow, warning);
        let path = dir.join(&name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            fresh,
            "tests/ui/codes/{name} is stale: run SLUICE_BLESS=1 cargo test --test diagnostic_codes, then TRYBUILD=overwrite cargo test --test ui"
        );
        want.insert(name);
    }
    let have: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    assert_eq!(
        have, want,
        "tests/ui/codes/ holds a program for a code that is gone"
    );
}
