//! `sluice check`: exit codes, and every rendered diagnostic as a snapshot showing the
//! source, the stable code, `file:line:col`, the label and the help line.

mod common;

use common::*;

fn check(rel: &str) -> (i32, String) {
    let out = sluice()
        .arg("check")
        .arg(rel)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn valid_examples_check_clean() {
    for f in ["examples/wordcount.flow", "examples/network_wordcount.flow"] {
        let (code, stderr) = check(f);
        assert_eq!(code, 0, "{f}: {stderr}");
        assert!(stderr.contains("ok (0 warning(s))"), "{stderr}");
    }
}

#[test]
fn reduce_by_key_on_words_is_not_a_pair() {
    let (code, stderr) = check("tests/fixtures/not_a_pair.flow");
    assert_eq!(code, 1);
    assert!(stderr.contains("flow::type::not_a_pair"));
    assert!(stderr.contains("tests/fixtures/not_a_pair.flow:2:45"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_operator_suggests_the_near_name() {
    let (code, stderr) = check("tests/fixtures/unknown_operator.flow");
    assert_eq!(code, 1);
    assert!(stderr.contains("flow::op::unknown"));
    assert!(stderr.contains("did you mean `flatMap`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn syntax_errors_are_located_and_the_rest_still_checked() {
    let (code, stderr) = check("tests/fixtures/syntax_error.flow");
    assert_eq!(code, 1);
    assert!(stderr.contains("flow::syntax::unexpected"));
    assert!(stderr.contains("tests/fixtures/syntax_error.flow:2:20"));
    // The statement after the broken one is still checked.
    assert!(stderr.contains("did you mean `print`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn expand_prints_typed_rust_against_the_runtime_only() {
    let out = sluice()
        .args(["expand", "examples/wordcount.flow"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let code = String::from_utf8(out.stdout).unwrap();
    assert!(code.contains("::sluice_runtime::app::main"));
    assert!(code.contains("socket_text_stream"));
    assert!(code.contains("reduce_by_key"));
    assert!(
        !code.contains("sluice_dsl"),
        "generated code never names the compiler"
    );
    insta::assert_snapshot!(code);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = sluice().args(["check", "no/such.flow"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such.flow"));
}

#[test]
fn graph_prints_mermaid_with_typed_edges_and_let_fan_out() {
    let out = sluice()
        .args(["graph", "examples/wordcount.flow"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("flowchart LR\n"));
    assert_eq!(text.matches("-->|\"(String, i64)\"|").count(), 4, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn check_json_reports_every_file_for_editors_and_exits_1_on_an_error() {
    let out = sluice()
        .args([
            "check",
            "--format",
            "json",
            "examples/wordcount.flow",
            "tests/fixtures/not_a_pair.flow",
            "tests/fixtures/unknown_operator.flow",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<(&str, &str)> = all
        .iter()
        .map(|d| (d["file"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("tests/fixtures/not_a_pair.flow", "flow::type::not_a_pair"),
            ("tests/fixtures/unknown_operator.flow", "flow::op::unknown")
        ]
    );
    let d = &all[0];
    let src = std::fs::read_to_string(repo().join("tests/fixtures/not_a_pair.flow")).unwrap();
    // Line and columns (1-based) point at the operator in the file.
    let line = src
        .lines()
        .nth(d["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    let (from, to) = (
        d["column"].as_u64().unwrap() as usize - 1,
        d["end_column"].as_u64().unwrap() as usize - 1,
    );
    assert_eq!(&line[from..to], "reduceByKey", "{d}");
    assert_eq!(d["severity"], "error");
    assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()), "{d}");
}

#[test]
fn graph_prints_dot_with_the_same_typed_edges() {
    let out = sluice()
        .args(["graph", "--format", "dot", "examples/wordcount.flow"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("digraph pipeline {\n") && text.ends_with("}\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("[label=\"(String, i64)\"]").count(),
        4,
        "{text}"
    );
    assert!(
        text.contains("label=\"socket(\\\"127.0.0.1\\\", 9999)\""),
        "{text}"
    );
}
