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
    /// Check a .flow file and report every problem; exit 1 if there is an error.
    Check {
        file: PathBuf,
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
    /// Print the pipeline graph as a mermaid flowchart, edges labelled with element types.
    Graph { file: PathBuf },
    /// Compile a .flow file into a native program (cached) and print its path.
    Build {
        file: PathBuf,
        #[command(flatten)]
        build: cli::run::BuildOptions,
    },
    /// Compile a .flow file into a native program (cached) and run it.
    Run(cli::run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            file,
            checkpoint,
            build,
        } => match cli::check(&file) {
            Ok(ExitCode::SUCCESS) => match checkpoint {
                Some(dir) => cli::run::check_checkpoint(&file, &dir, build),
                None => Ok(ExitCode::SUCCESS),
            },
            other => other,
        },
        Command::Expand { file } => cli::expand(&file),
        Command::Graph { file } => cli::graph(&file),
        Command::Build { file, build } => cli::run::build(&file, build).map(|built| match built {
            Some(binary) => {
                println!("{}", binary.display());
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        }),
        Command::Run(args) => cli::run::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: error: {e}");
            ExitCode::from(2)
        }
    }
}
