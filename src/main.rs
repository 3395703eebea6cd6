//! The `sluice` command: check, expand, graph, build and run `.flow` pipelines.

mod cli;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Spark Streaming's model as a dataflow DSL compiler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check .flow files and report every problem; exit 1 if there is an error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to report: for people, or one JSON array of diagnostics for editors.
        #[arg(long, value_enum, default_value_t = cli::Format::Human)]
        format: cli::Format,
        /// Also tell whether the pipeline could resume from the checkpoint in DIR (builds
        /// the program, as `sluice run` would, and asks it).
        #[arg(long, value_name = "DIR")]
        checkpoint: Option<PathBuf>,
        /// With --checkpoint: how to build the program.
        #[command(flatten)]
        build: cli::run::BuildOptions,
    },
    /// Print the Rust program generated from a .flow file.
    Expand { file: PathBuf },
    /// Print the pipeline graph, edges labelled with element types.
    Graph {
        file: PathBuf,
        /// A mermaid flowchart, or Graphviz DOT.
        #[arg(long, value_enum, default_value_t = cli::GraphFormat::Mermaid)]
        format: cli::GraphFormat,
    },
    /// Compile a .flow file into a native program (cached) and print its path.
    Build {
        file: PathBuf,
        #[command(flatten)]
        build: cli::run::BuildOptions,
        /// Also copy the program to this path.
        #[arg(short, long, value_name = "BIN")]
        output: Option<PathBuf>,
    },
    /// Compile a .flow file into a native program (cached) and run it.
    Run(Box<cli::run::RunArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            files,
            format,
            checkpoint,
            build,
        } => match (checkpoint, files.as_slice()) {
            (Some(_), [_, _, ..]) => Err("--checkpoint checks one file at a time".into()),
            (checkpoint, _) => match cli::check(&files, format) {
                Ok(ExitCode::SUCCESS) => match checkpoint {
                    Some(dir) => cli::run::check_checkpoint(&files[0], &dir, build),
                    None => Ok(ExitCode::SUCCESS),
                },
                other => other,
            },
        },
        Command::Expand { file } => cli::expand(&file),
        Command::Graph { file, format } => cli::graph(&file, format),
        Command::Build {
            file,
            build,
            output,
        } => cli::run::build(&file, build).and_then(|built| match built {
            Some(binary) => {
                let shown = match output {
                    Some(out) => {
                        std::fs::copy(&binary, &out)
                            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                        out
                    }
                    None => binary,
                };
                println!("{}", shown.display());
                Ok(ExitCode::SUCCESS)
            }
            None => Ok(ExitCode::FAILURE),
        }),
        Command::Run(args) => cli::run::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: error: {e}");
            ExitCode::from(2)
        }
    }
}
