//! `sluice run FILE.flow`: generate a cargo project in the cache, build it once, run it.
//!
//! The project depends on `sluice-runtime` alone. Its directory is named by a hash of
//! everything that goes into the build, so an unchanged file reuses the built program
//! without invoking cargo, and every pipeline shares one target directory.

use super::{program_name, read_flow};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// How a pipeline program is built.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct BuildOptions {
    /// Build without optimisations (faster to build, slower to run).
    #[arg(long)]
    pub dev: bool,
    /// Build with fail points, for crash tests: run the program with
    /// `FAILPOINTS=<point>=return` and it kills itself (SIGKILL) there
    /// (docs/semantics.md, "Fail points", lists them).
    #[arg(long)]
    pub fail_points: bool,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The pipeline to run.
    file: PathBuf,
    /// Batch interval, overriding the file's setting (e.g. 1s, 100ms).
    #[arg(long)]
    batch: Option<String>,
    /// Stop gracefully after this long (e.g. 30s).
    #[arg(long = "for")]
    run_for: Option<String>,
    /// Append one JSON object per completed batch to this file.
    #[arg(long)]
    batch_log: Option<PathBuf>,
    /// At most this many records per second per receiver, overriding `maxRate`.
    #[arg(long)]
    max_rate: Option<u64>,
    /// Adapt receivers' rates to what the pipeline processes.
    #[arg(long)]
    backpressure: bool,
    /// After every batch, print the delays' quartiles over the last 100 batches.
    #[arg(long)]
    stats: bool,
    /// Serve the status page and Prometheus `/metrics` here (default 127.0.0.1:4040, or the
    /// next free port of the 16 after it).
    #[arg(long, value_name = "ADDR")]
    ui: Option<String>,
    /// Serve no status page.
    #[arg(long, conflicts_with = "ui")]
    no_ui: bool,
    /// How the pipeline writes log lines: `text` or `json` (one object per line).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    #[command(flatten)]
    build: BuildOptions,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Serve this file's lines on 127.0.0.1:FEED_PORT to the pipeline's socket source,
    /// once, then close — `nc -lk` built in, for trying a pipeline without a server.
    #[arg(long)]
    feed: Option<PathBuf>,
    /// The port `--feed` listens on.
    #[arg(long, default_value_t = 9999)]
    feed_port: u16,
    /// Start the pipeline again whenever it dies (a crash, a kill, a failed batch), after
    /// 1 s, 2 s, … up to 30 s; it resumes from its checkpoint. SIGINT and SIGTERM are
    /// passed on and stop it for good.
    #[arg(long)]
    supervise: bool,
}

/// A cluster, as timely dataflow's options give it (docs/cluster.md).
#[derive(clap::Args)]
struct ClusterArgs {
    /// Worker threads per process.
    #[arg(short = 'w', long)]
    workers: Option<usize>,
    /// Processes in the cluster; every process runs this same command.
    #[arg(short = 'n', long)]
    processes: Option<usize>,
    /// This process's index (0 is the driver).
    #[arg(short = 'p', long)]
    process: Option<usize>,
    /// Every process's `host:port`, one per line, in process order.
    #[arg(long, value_name = "FILE")]
    hostfile: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let binary = match build(&args.file, args.build)? {
        Some(b) => b,
        None => return Ok(ExitCode::FAILURE),
    };
    let mut cmd = Command::new(&binary);
    if let Some(b) = &args.batch {
        cmd.args(["--batch", b]);
    }
    if let Some(f) = &args.run_for {
        cmd.args(["--for", f]);
    }
    if let Some(l) = &args.batch_log {
        cmd.arg("--batch-log").arg(l);
    }
    if let Some(r) = args.max_rate {
        cmd.args(["--max-rate", &r.to_string()]);
    }
    if args.backpressure {
        cmd.arg("--backpressure");
    }
    if args.stats {
        cmd.arg("--stats");
    }
    if let Some(addr) = &args.ui {
        cmd.args(["--ui", addr]);
    }
    if args.no_ui {
        cmd.arg("--no-ui");
    }
    if let Some(f) = &args.log_format {
        cmd.args(["--log-format", f]);
    }
    let c = &args.cluster;
    for (flag, value) in [
        ("--workers", c.workers),
        ("--processes", c.processes),
        ("--process", c.process),
    ] {
        if let Some(v) = value {
            cmd.args([flag, &v.to_string()]);
        }
    }
    if let Some(h) = &c.hostfile {
        cmd.arg("--hostfile").arg(h);
    }
    let feeder = match &args.feed {
        Some(path) => Some(start_feed(path, args.feed_port)?),
        None if args.supervise => None,
        None => {
            // Become the pipeline, so that signals reach it directly.
            use std::os::unix::process::CommandExt;
            let e = cmd.exec();
            return Err(format!("cannot start {}: {e}", binary.display()));
        }
    };
    let status = if args.supervise {
        supervise(&mut cmd)
    } else {
        cmd.status()
    }
    .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    drop(feeder);
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(c.clamp(1, 255) as u8),
        None => ExitCode::FAILURE,
    })
}

/// Runs `cmd` until it exits cleanly, starting it again whenever it ends otherwise — after
/// 1 s, doubling up to 30 s, back to 1 s once a run lasted a minute. On SIGINT or SIGTERM
/// the program gets SIGTERM (a graceful stop) and its status ends the supervision; between
/// two runs, the supervision just ends, successfully.
fn supervise(cmd: &mut Command) -> std::io::Result<std::process::ExitStatus> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let tick = Duration::from_millis(50);
    let mut backoff = Duration::from_secs(1);
    let mut restart = 0;
    loop {
        restart += 1;
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if stop.load(Ordering::SeqCst) {
                // SAFETY: kill(2) with a child's pid and a valid signal has no memory effects.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                break child.wait()?;
            }
            std::thread::sleep(tick);
        };
        if status.success() || stop.load(Ordering::SeqCst) {
            return Ok(status);
        }
        if started.elapsed() >= Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        eprintln!(
            "sluice: the pipeline ended ({status}); restart {restart} in {} s",
            backoff.as_secs()
        );
        let resume = Instant::now() + backoff;
        while Instant::now() < resume {
            if stop.load(Ordering::SeqCst) {
                // Stopped between two runs: nothing is left running, a clean stop.
                return Ok(std::os::unix::process::ExitStatusExt::from_raw(0));
            }
            std::thread::sleep(tick);
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// `sluice check FILE --checkpoint DIR`: builds the program and asks it whether it could
/// resume from the checkpoint in `dir` (only the program knows its state types as the
/// checkpoint records them).
pub fn check_checkpoint(file: &Path, dir: &Path, opts: BuildOptions) -> Result<ExitCode, String> {
    let Some(binary) = build(file, opts)? else {
        return Ok(ExitCode::FAILURE);
    };
    let status = Command::new(&binary)
        .arg("--check-checkpoint")
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Serves `path` to the first connection on `port`, then closes it.
fn start_feed(path: &Path, port: u16) -> Result<std::thread::JoinHandle<()>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("--feed cannot listen on 127.0.0.1:{port}: {e}"))?;
    Ok(std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = conn.write_all(&data);
        }
    }))
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sluice")
}

/// Where every pipeline project builds: `SLUICE_TARGET_DIR`; else, for a sluice built
/// from a checkout, the checkout's own target directory (its compiled dependencies are
/// reused); else one directory in the cache.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    if checkout.is_dir() {
        return checkout;
    }
    cache_root().join("target")
}

/// Builds the program for `file`, or finds it already built. `None`: the file has errors
/// (already reported).
pub fn build(file: &Path, opts: BuildOptions) -> Result<Option<PathBuf>, String> {
    let dev = opts.dev;
    let (src, label) = read_flow(file)?;
    let name = program_name(file);
    let program = match sluice_dsl::program(&src, &name, &label) {
        Ok(p) => {
            eprint!("{}", sluice_dsl::render(&label, &src, &p.warnings));
            p
        }
        Err(diags) => {
            eprint!("{}", sluice_dsl::render(&label, &src, &diags));
            return Ok(None);
        }
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = workspace.join("runtime");
    let main_rs = program.main_rs;
    let mut features = program.runtime_features;
    if opts.fail_points {
        features.push("failpoints");
    }
    let profile = if dev { "dev" } else { "release" };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (env!("CARGO_PKG_VERSION"), &main_rs, &features, profile).hash(&mut h);
    hash_sources(&runtime, &mut h);
    let key = format!("{name}-{:016x}", h.finish());
    // The package is named by the hash too: pipelines share one target directory, and two
    // files with the same name must not build over each other's binary there.
    let package = key.replace('-', "_");
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nsluice-runtime = {{ path = {:?}, features = {:?} }}\n\n[workspace]\n",
        runtime.display().to_string(),
        features,
    );
    let dir = cache_root().join("pipelines").join(&key);
    let binary = dir.join("bin").join(&name);
    if binary.exists() {
        return Ok(Some(binary));
    }
    std::fs::create_dir_all(dir.join("src"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |p: PathBuf, text: &str| {
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write(dir.join("Cargo.toml"), &manifest)?;
    write(dir.join("src").join("main.rs"), &main_rs)?;
    // The workspace's lock file pins the project to the versions Sluice was tested with.
    if let Ok(lock) = std::fs::read_to_string(workspace.join("Cargo.lock")) {
        write(dir.join("Cargo.lock"), &lock)?;
    }
    eprintln!(
        "sluice: building {label} ({profile} profile; later runs of this file reuse the build)"
    );
    let log_path = dir.join("build.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let target = target_dir();
    let status = cargo_build(&dir.join("Cargo.toml"), profile, &target, log)?;
    if !status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(format!("building the pipeline failed:\n{log}"));
    }
    let built = target
        .join(if dev { "debug" } else { "release" })
        .join(&package);
    std::fs::create_dir_all(dir.join("bin")).map_err(|e| e.to_string())?;
    let tmp = dir
        .join("bin")
        .join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::copy(&built, &tmp).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
    std::fs::rename(&tmp, &binary).map_err(|e| e.to_string())?;
    evict_old_builds(&name, &key, &target);
    Ok(Some(binary))
}

/// Runs `cargo build` on the pipeline project, its diagnostics into `log`, showing on a
/// terminal a progress bar of the crates compiled (indicatif hides it elsewhere).
fn cargo_build(
    manifest: &Path,
    profile: &str,
    target: &Path,
    log: std::fs::File,
) -> Result<std::process::ExitStatus, String> {
    use std::io::BufRead;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // How many packages the build has: the bar's length.
    let packages = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|m| m["resolve"]["nodes"].as_array().map(Vec::len))
        .unwrap_or(0);
    let bar = indicatif::ProgressBar::new(packages as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} compiling [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let mut child = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "--message-format",
            "json-render-diagnostics",
        ])
        .args(["--profile", profile, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let Ok(m) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if m["reason"] == "compiler-artifact" {
                let id = m["package_id"].as_str().unwrap_or_default().to_string();
                let crate_name = m["target"]["name"].as_str().unwrap_or_default().to_string();
                if seen.insert(id) {
                    bar.inc(1);
                }
                bar.set_message(crate_name);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    bar.finish_and_clear();
    Ok(status)
}

/// How many builds of one pipeline name stay cached: this one and the one before.
const BUILDS_KEPT: usize = 2;

/// Deletes all but the newest [`BUILDS_KEPT`] builds of pipeline `name` — their cache
/// directories and what they left in the shared target directory — so that editing a
/// pipeline (or Sluice) does not fill the disk with superseded programs.
fn evict_old_builds(name: &str, current: &str, target: &Path) {
    let pipelines = cache_root().join("pipelines");
    let Ok(entries) = std::fs::read_dir(&pipelines) else {
        return;
    };
    let prefix = format!("{name}-");
    let mut builds: Vec<(std::time::SystemTime, String)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let key = e.file_name().to_string_lossy().into_owned();
            // `name-<16 hex digits>` only: another pipeline's name may start with ours.
            let hash = key.strip_prefix(&prefix)?;
            let ours = hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            (ours && key != current).then(|| (e.metadata().and_then(|m| m.modified()).ok(), key))
        })
        .map(|(t, key)| (t.unwrap_or(std::time::UNIX_EPOCH), key))
        .collect();
    builds.sort();
    let stale = builds.len().saturating_sub(BUILDS_KEPT - 1);
    for (_, key) in builds.into_iter().take(stale) {
        let _ = std::fs::remove_dir_all(pipelines.join(&key));
        let package = key.replace('-', "_");
        for profile in ["debug", "release"] {
            let out = target.join(profile);
            let _ = std::fs::remove_file(out.join(&package));
            let _ = std::fs::remove_file(out.join(format!("{package}.d")));
            for sub in ["deps", ".fingerprint", "incremental", "build"] {
                let Ok(files) = std::fs::read_dir(out.join(sub)) else {
                    continue;
                };
                for f in files.filter_map(|f| f.ok()) {
                    let file = f.file_name().to_string_lossy().into_owned();
                    let named = file
                        .strip_prefix(&package)
                        .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('.'));
                    if named {
                        let p = f.path();
                        let _ = if p.is_dir() {
                            std::fs::remove_dir_all(&p)
                        } else {
                            std::fs::remove_file(&p)
                        };
                    }
                }
            }
        }
    }
}

/// Folds the runtime's sources into the cache key, so a changed runtime is rebuilt.
fn hash_sources(dir: &Path, h: &mut impl Hasher) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            hash_sources(&p, h);
        } else if let Ok(bytes) = std::fs::read(&p) {
            p.hash(h);
            bytes.hash(h);
        }
    }
}
