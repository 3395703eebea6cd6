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

/// How `sluice check` reports.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// How `sluice graph` draws.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// 1-based line and column (in characters) of byte offset `at` in `src`.
fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, col)
}

/// A diagnostic as `--format json` gives it.
fn to_json(file: &str, src: &str, d: &sluice_dsl::Diagnostic) -> serde_json::Value {
    let (line, column) = line_col(src, d.primary.span.start);
    let (end_line, end_column) = line_col(src, d.primary.span.end);
    serde_json::json!({
        "file": file,
        "code": d.code,
        "severity": if d.is_error() { "error" } else { "warning" },
        "message": d.message,
        "label": d.primary.text,
        "help": d.help,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    })
}

pub fn check(files: &[std::path::PathBuf], format: Format) -> Result<ExitCode, String> {
    let mut failed = false;
    let mut json = Vec::new();
    for file in files {
        let (src, name) = read_flow(file)?;
        let diagnostics = sluice_dsl::check(&src);
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        failed |= errors > 0;
        match format {
            Format::Json => json.extend(diagnostics.iter().map(|d| to_json(&name, &src, d))),
            Format::Human => {
                eprint!("{}", sluice_dsl::render(&name, &src, &diagnostics));
                let warnings = diagnostics.len() - errors;
                if errors > 0 {
                    eprintln!("{name}: {errors} error(s), {warnings} warning(s)");
                } else {
                    eprintln!("{name}: ok ({warnings} warning(s))");
                }
            }
        }
    }
    if let Format::Json = format {
        println!("{}", serde_json::Value::Array(json));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn graph(file: &Path, format: GraphFormat) -> Result<ExitCode, String> {
    let (src, name) = read_flow(file)?;
    let compiled = sluice_dsl::analyze(&src);
    eprint!("{}", sluice_dsl::render(&name, &src, &compiled.diagnostics));
    match compiled.graph {
        Some(g) => {
            print!(
                "{}",
                match format {
                    GraphFormat::Mermaid => g.to_mermaid(),
                    GraphFormat::Dot => g.to_dot(),
                }
            );
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
