//! The command line of a compiled pipeline: `--batch`, `--for`, `--batch-log`, `--ui`, and a
//! graceful stop on SIGINT or SIGTERM (stop receivers, finish queued batches, exit 0).

use crate::cluster::{Cluster, ClusterOptions, Link};
use crate::context::Pipeline;
use crate::listener::{BatchLog, ConsoleReporter, StatsReporter};
use crate::logging::LogFormat;
use crate::scheduler::Termination;
use crate::settings::{parse_duration, Settings};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Parser, Debug)]
#[command(about = "A Sluice pipeline")]
struct Args {
    /// Batch interval, overriding the pipeline's setting (e.g. 1s, 100ms).
    #[arg(long, value_parser = parse_duration)]
    batch: Option<Duration>,
    /// Block interval, overriding the pipeline's setting.
    #[arg(long, value_parser = parse_duration)]
    block_interval: Option<Duration>,
    /// At most this many records per second per receiver, overriding `maxRate`.
    #[arg(long)]
    max_rate: Option<u64>,
    /// Adapt receivers' rates to what the pipeline processes (PID estimator).
    #[arg(long)]
    backpressure: bool,
    /// Tell whether the pipeline could resume from the checkpoint in this directory, and
    /// exit (0: it fits or there is none; 1: it does not fit) without running.
    #[arg(long, value_name = "DIR")]
    check_checkpoint: Option<std::path::PathBuf>,
    /// Stop gracefully after this long.
    #[arg(long = "for", value_parser = parse_duration)]
    run_for: Option<Duration>,
    /// Append one JSON object per completed batch to this file.
    #[arg(long)]
    batch_log: Option<std::path::PathBuf>,
    /// After every batch, print the delays' quartiles over the last 100 batches (Spark's
    /// StatsReportListener) on standard error.
    #[arg(long)]
    stats: bool,
    /// Serve the status page, `/api/status` and Prometheus `/metrics` here (the next free
    /// port of the 16 after it if taken) [default: 127.0.0.1:4040, and no page, with a
    /// warning, if those ports are all taken].
    #[arg(long, value_name = "ADDR")]
    ui: Option<std::net::SocketAddr>,
    /// Serve no status page.
    #[arg(long, conflicts_with = "ui")]
    no_ui: bool,
    /// How log lines on standard error are written.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Cluster (timely dataflow's options): worker threads per process.
    #[arg(short = 'w', long, default_value_t = 1)]
    workers: usize,
    /// Cluster: how many processes run the pipeline.
    #[arg(short = 'n', long, default_value_t = 1)]
    processes: usize,
    /// Cluster: this process's index; process 0 is the driver.
    #[arg(short = 'p', long, default_value_t = 0)]
    process: usize,
    /// Cluster: a file with every process's `host:port`, one per line, in process order
    /// [default: localhost:2101, localhost:2102, …].
    #[arg(long, value_name = "FILE")]
    hostfile: Option<std::path::PathBuf>,
    /// Cluster: give up (exit 2) unless every process connected within this long.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    connect_timeout: Duration,
}

/// Runs `pipeline` as a program: parses the command line, runs until told to stop, and
/// returns the process's exit code.
pub fn main(pipeline: Pipeline) -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let live = crate::logging::init(args.log_format);
    #[cfg(feature = "failpoints")]
    let _fail_points = crate::failpoint::setup();
    match run(pipeline, args, live) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}: {e}", pipeline.name);
            ExitCode::FAILURE
        }
    }
}

fn run(pipeline: Pipeline, args: Args, live: bool) -> Result<(), Box<dyn std::error::Error>> {
    let options = ClusterOptions {
        connect_timeout: args.connect_timeout,
        ..ClusterOptions::new(
            args.workers,
            args.processes,
            args.process,
            args.hostfile.as_deref(),
        )?
    };
    if !options.is_cluster() {
        return drive(pipeline, args, live, None);
    }
    // Every worker but the driver builds the same graph and runs its share of each batch.
    let mut cluster = Cluster::join(&options)?;
    let mut links = std::mem::take(&mut cluster.links).into_iter();
    let driver = if options.process == 0 {
        links.next()
    } else {
        None
    };
    let followers: Vec<_> = links
        .map(|link| {
            // The driver alone logs; the others keep their share of checkpoints.
            let settings = Settings {
                write_ahead_log: false,
                ..settings_of(&pipeline, &args)
            };
            std::thread::spawn(move || {
                let index = link.index();
                let followed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pipeline
                        .context(settings)
                        .and_then(|ssc| ssc.follow_cluster(&link))
                        .map_err(|e| e.to_string())
                }))
                .unwrap_or_else(|p| Err(crate::executor::panic_message(&*p)));
                if let Err(e) = followed {
                    // The driver would wait for this worker forever: the process ends.
                    tracing::error!("{}: worker {index}: {e}", pipeline.name);
                    std::process::exit(1);
                }
            })
        })
        .collect();
    let driven = match driver {
        Some(link) => drive(pipeline, args, live, Some(link)),
        None => Ok(()),
    };
    for f in followers {
        let _ = f.join();
    }
    driven?;
    cluster.wait()?;
    Ok(())
}

/// The pipeline's settings with the command line's overrides.
fn settings_of(pipeline: &Pipeline, args: &Args) -> Settings {
    let mut settings = (pipeline.settings)();
    if let Some(b) = args.batch {
        settings.batch_interval = b;
    }
    if let Some(b) = args.block_interval {
        settings.block_interval = b;
    }
    if let Some(r) = args.max_rate {
        settings.receiver_max_rate = r;
    }
    settings.backpressure |= args.backpressure;
    settings
}

/// Runs the driver: the whole pipeline, or in a cluster (with worker 0's `link`) the
/// batch clock, receivers, logs and checkpoints, and worker 0's share of each batch.
fn drive(
    pipeline: Pipeline,
    args: Args,
    live: bool,
    link: Option<Link>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = settings_of(&pipeline, &args);
    if let Some(dir) = &args.check_checkpoint {
        // Asks about `dir` alone, whatever checkpoint directory the pipeline names.
        settings.checkpoint_dir = None;
        println!("{}", pipeline.context(settings)?.check_checkpoint(dir)?);
        return Ok(());
    }
    let mut ssc = pipeline.context(settings)?;
    if let Some(link) = link {
        ssc.drive_cluster(link)?;
    }
    ssc.add_listener(Arc::new(ConsoleReporter::default()));
    if live {
        let batch_ms = ssc.settings().batch_interval.as_millis() as u64;
        ssc.add_listener(Arc::new(crate::logging::LiveStatus::new(batch_ms)));
    }
    if !args.no_ui {
        ssc.status().set_graph(pipeline.graph);
        let addr = args.ui.unwrap_or(([127, 0, 0, 1], 4040).into());
        match ssc.serve_status(addr) {
            Ok(at) => tracing::info!("{}: status page at http://{at}/", pipeline.name),
            // Asked for: a failure to serve it is the run's failure.
            Err(e) if args.ui.is_some() => return Err(e.into()),
            Err(e) => tracing::warn!("{}: {e}; running without it", pipeline.name),
        }
    }
    if args.stats {
        ssc.add_listener(Arc::new(StatsReporter::new(
            100,
            Box::new(std::io::stderr()),
        )));
    }
    if let Some(path) = &args.batch_log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open batch log {}: {e}", path.display()))?;
        ssc.add_listener(Arc::new(BatchLog::new(Box::new(file))));
    }
    ssc.start()?;
    let io = ssc.io_handle();
    let deadline = args.run_for.unwrap_or(Duration::from_secs(u64::MAX / 4));
    let stopped_by = io.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let sleep = tokio::time::sleep(deadline);
        tokio::pin!(sleep);
        let mut poll = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok::<_, std::io::Error>("SIGINT"),
                _ = term.recv() => return Ok("SIGTERM"),
                _ = &mut sleep => return Ok("--for"),
                _ = poll.tick() => {
                    if ssc.await_termination(Some(Duration::ZERO)) != Termination::Running {
                        return Ok("failure");
                    }
                }
            }
        }
    })?;
    if stopped_by != "failure" {
        tracing::info!("{}: stopping gracefully ({stopped_by})", pipeline.name);
    }
    ssc.stop(true)?;
    Ok(())
}
