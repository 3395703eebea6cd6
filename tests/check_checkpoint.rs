//! `sluice check FILE --checkpoint DIR` tells before a deploy whether a pipeline can resume
//! from a checkpoint: a real checkpoint is written by running a stateful pipeline, then the
//! same pipeline fits, and one whose state type changed is refused with both types named.

mod common;

use common::*;

fn stateful_flow(port: u16, state: &str, update: &str) -> String {
    format!(
        "settings {{\n  batch = 200ms\n  checkpoint = \"ckpt\"\n}}\n\
         socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1)\n  \
         | updateStateByKey {{ |vs: Vec<i64>, s: Option<{state}>| -> Option<{state}> {{ {update} }} }}\n  \
         | print\n"
    )
}

#[test]
fn check_tells_whether_a_checkpoint_fits_before_a_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let (l, port) = listener();
    let feeder = feed(l, vec![b"a b a\nc\n".to_vec()]);
    let counting = stateful_flow(port, "i64", "Some(s.unwrap_or(0) + vs.iter().sum::<i64>())");
    let v1 = write_flow(dir.path(), "v1.flow", &counting);
    run_flow(dir.path(), &v1, &["--for", "1s"], &[]);
    feeder.join().unwrap();
    assert!(
        std::fs::read_dir(dir.path().join("ckpt"))
            .unwrap()
            .any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("checkpoint-")),
        "the run wrote a checkpoint"
    );

    let check = |file: &std::path::Path| {
        sluice()
            .current_dir(dir.path())
            .args(["check", "--dev", "--checkpoint", "ckpt"])
            .arg(file)
            .output()
            .unwrap()
    };
    let same = check(&v1);
    let out = String::from_utf8_lossy(&same.stdout);
    assert!(
        same.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(
        out.contains("fits") && out.contains("updateStateByKey#0"),
        "{out}"
    );

    let text = stateful_flow(port, "String", "s");
    let v2 = write_flow(dir.path(), "v2.flow", &text);
    let changed = check(&v2);
    let err = String::from_utf8_lossy(&changed.stderr);
    assert!(
        !changed.status.success(),
        "a changed state type must not fit"
    );
    assert!(
        err.contains("updateStateByKey#0") && err.contains("i64") && err.contains("String"),
        "{err}"
    );
}
