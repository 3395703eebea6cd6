//! Built pipeline programs are cached by content, and superseded builds of a pipeline are
//! evicted — its cache directory and its artifacts in the shared target directory — so
//! editing a pipeline does not fill the disk: the newest two builds of a name stay.

mod common;

use common::*;
use std::path::PathBuf;

#[test]
fn editing_a_pipeline_keeps_only_its_two_newest_builds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let target = std::env::var_os("SLUICE_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target").join("pipelines"));
    let mut built = Vec::new();
    for n in 1..=3 {
        let flow = write_flow(
            dir.path(),
            "cached.flow",
            &format!("queueStream([[{n}]]) | map x => x + {n} | print"),
        );
        let out = sluice()
            .args(["build", "--dev"])
            .arg(&flow)
            .env("SLUICE_CACHE", &cache)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        built.push(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()));
    }
    let kept: Vec<String> = std::fs::read_dir(cache.join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!built[0].exists() && built[1].exists() && built[2].exists());
    // The first build's artifacts are gone from the shared target directory too.
    let first = built[0]
        .parent()
        .and_then(|bin| bin.parent())
        .and_then(|d| d.file_name())
        .unwrap()
        .to_string_lossy()
        .replace('-', "_");
    let left: Vec<PathBuf> = std::fs::read_dir(target.join("debug").join("deps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&first))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!target.join("debug").join(&first).exists());
}
