//! `docs/dsl.md` carries the operator reference generated from the specs, and every
//! example in the docs compiles. Regenerate with `SLUICE_BLESS=1`.

mod common;

const BEGIN: &str = "<!-- BEGIN GENERATED REFERENCE: edit dsl/src/ops/*.rs, then run SLUICE_BLESS=1 cargo test --test docs -->\n";
const END: &str = "<!-- END GENERATED REFERENCE -->";

#[test]
fn dsl_reference_is_generated_from_the_operator_specs() {
    let path = common::repo().join("docs/dsl.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc
        .split_once(BEGIN)
        .expect("docs/dsl.md has the begin marker");
    let (_, tail) = rest
        .split_once(END)
        .expect("docs/dsl.md has the end marker");
    let fresh = format!(
        "{head}{BEGIN}{}{END}{tail}",
        sluice_dsl::ops::reference_markdown()
    );
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    } else {
        assert!(
            doc == fresh,
            "docs/dsl.md is stale: run SLUICE_BLESS=1 cargo test --test docs"
        );
    }
}

#[test]
fn every_flow_example_in_the_docs_compiles() {
    let mut checked = 0;
    for entry in std::fs::read_dir(common::repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("```flow\n").skip(1) {
            let code = block.split("```").next().unwrap();
            let errors: Vec<_> = sluice_dsl::check(code)
                .into_iter()
                .filter(|d| d.is_error())
                .collect();
            assert!(
                errors.is_empty(),
                "{}: example does not compile:\n{code}\n{errors:#?}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "found {checked} examples");
}
