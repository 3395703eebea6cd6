//! The subcommands.

pub mod run;

use std::path::Path;
use std::process::ExitCode;

/// A source file's text and the name diagnostics show for it.
pub(crate) fn read_flow(file: &Path) -> Result<(String, String), String> {
    let src = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok((src, file.display().to_string()))
}

pub fn check(file: &Path) -> Result<ExitCode, String> {
    let (src, name) = read_flow(file)?;
    let diagnostics = sluice_dsl::check(&src);
    eprint!("{}", sluice_dsl::render(&name, &src, &diagnostics));
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        eprintln!("{name}: {errors} error(s), {warnings} warning(s)");
        Ok(ExitCode::FAILURE)
    } else {
        eprintln!("{name}: ok ({warnings} warning(s))");
        Ok(ExitCode::SUCCESS)
    }
}

pub fn graph(file: &Path) -> Result<ExitCode, String> {
    let (src, name) = read_flow(file)?;
    let compiled = sluice_dsl::analyze(&src);
    eprint!("{}", sluice_dsl::render(&name, &src, &compiled.diagnostics));
    match compiled.graph {
        Some(g) => {
            print!("{}", g.to_mermaid());
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

pub fn expand(file: &Path) -> Result<ExitCode, String> {
    let (src, name) = read_flow(file)?;
    match sluice_dsl::program(&src, &program_name(file), &name) {
        Ok(p) => {
            eprint!("{}", sluice_dsl::render(&name, &src, &p.warnings));
            print!("{}", p.main_rs);
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            eprint!("{}", sluice_dsl::render(&name, &src, &diags));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A crate and binary name for a pipeline: the file's stem in lower case, `[a-z0-9_]`.
pub(crate) fn program_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("flow_{clean}")
}
