//! A compiled pipeline on a timely cluster of three processes, each on its own network
//! address (in a network namespace of its own where the machine allows it, else on
//! 127.0.0.1, .2 and .3), as a user launches it (`--processes 3 --process I --hostfile F`): the same
//! text gives exactly the counts it gives on one process; word count, a keyed window and
//! updateStateByKey give the same outputs, batch by batch.

mod common;

use common::*;
use std::net::TcpListener;
use std::process::{Command, Stdio};

/// Serves `text` to one connection in 40 pieces 50 ms apart, so that every batch holds
/// several blocks (one per block interval), which spread over the workers.
fn trickle(listener: TcpListener, text: String) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::Write;
        let (mut conn, _) = listener.accept().expect("the pipeline connects");
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for piece in lines.chunks(lines.len().div_ceil(40)) {
            conn.write_all(piece.concat().as_bytes()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}

/// Three network namespaces, each with its own address on a bridge in this namespace
/// (which has the address `.254`): three hosts as far as the processes can tell. Removed
/// when dropped.
struct Namespaces {
    tag: String,
    subnet: String,
}

impl Namespaces {
    /// The namespaces, or `None` where this machine does not allow them (no `ip`, no
    /// privilege), after undoing whatever part was made.
    fn new() -> Option<Namespaces> {
        let id = std::process::id() % 100_000;
        let ns = Namespaces {
            tag: format!("s{id}"),
            subnet: format!("10.{}.{}", 100 + id % 100, id / 100 % 250),
        };
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let (bridge, gateway) = (format!("{}b", ns.tag), format!("{}.254/24", ns.subnet));
        let mut made = ip(&["link", "add", &bridge, "type", "bridge"])
            && ip(&["addr", "add", &gateway, "dev", &bridge])
            && ip(&["link", "set", &bridge, "up"]);
        for i in 1..=3 {
            let (name, host, inner) = (
                ns.name(i),
                format!("{}h{i}", ns.tag),
                format!("{}n{i}", ns.tag),
            );
            let addr = format!("{}.{i}/24", ns.subnet);
            made = made
                && ip(&["netns", "add", &name])
                && ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])
                && ip(&["link", "set", &inner, "netns", &name])
                && ip(&["link", "set", &host, "master", &bridge])
                && ip(&["link", "set", &host, "up"])
                && ip(&["-n", &name, "addr", "add", &addr, "dev", &inner])
                && ip(&["-n", &name, "link", "set", &inner, "up"])
                && ip(&["-n", &name, "link", "set", "lo", "up"]);
        }
        made.then_some(ns)
    }

    fn name(&self, i: usize) -> String {
        format!("{}ns{i}", self.tag)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for i in 1..=3 {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name(i)])
                .status();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}b", self.tag)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Where the three processes of a test run: in network namespaces of their own when the
/// machine allows it, else on the loopback addresses 127.0.0.1, .2 and .3.
struct Hosts {
    namespaces: Option<Namespaces>,
    addresses: Vec<String>,
}

impl Hosts {
    fn new(separate_networks: bool) -> Hosts {
        let namespaces = separate_networks.then(Namespaces::new).flatten();
        let addresses = match &namespaces {
            Some(ns) => (1..=3).map(|i| format!("{}.{i}:2101", ns.subnet)).collect(),
            None => (1..=3)
                .map(|i| {
                    let ip = format!("127.0.0.{i}");
                    format!("{ip}:{}", free_port(&ip))
                })
                .collect(),
        };
        eprintln!(
            "processes at {addresses:?} ({})",
            if namespaces.is_some() {
                "network namespaces"
            } else {
                "loopback"
            }
        );
        Hosts {
            namespaces,
            addresses,
        }
    }

    /// The address of this test's side, which every process reaches (a feeder listens there).
    fn here(&self) -> String {
        match &self.namespaces {
            Some(ns) => format!("{}.254", ns.subnet),
            None => "127.0.0.1".into(),
        }
    }

    fn hostfile(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let hostfile = dir.join("hosts");
        std::fs::write(&hostfile, self.addresses.join("\n")).unwrap();
        hostfile
    }

    /// A command running `program` as process `i`, on its host.
    fn command(&self, i: usize, program: &std::path::Path) -> Command {
        match &self.namespaces {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &ns.name(i + 1)]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// Runs `program` alone (local mode) for `run_for` in a new directory `name` under
/// `dir`, which it returns.
fn run_one(
    program: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    run_for: &str,
) -> std::path::PathBuf {
    let cwd = dir.join(name);
    std::fs::create_dir(&cwd).unwrap();
    let status = Command::new(program)
        .current_dir(&cwd)
        .args(["--for", run_for, "--no-ui"])
        .status()
        .unwrap();
    assert!(status.success());
    cwd
}

/// Runs `program` as a cluster of three processes on `hosts` in `cwd` with `args`;
/// returns each process's standard error.
fn run_three(
    program: &std::path::Path,
    (hosts, cwd): (&Hosts, &std::path::Path),
    args: &[&str],
    env: &[(&str, &str)],
) -> Vec<String> {
    let hostfile = hosts.hostfile(cwd);
    let processes: Vec<_> = (0..3)
        .map(|i| {
            hosts
                .command(i, program)
                .current_dir(cwd)
                .args(args)
                .args(["--no-ui", "--processes", "3", "--process"])
                .arg(i.to_string())
                .arg("--hostfile")
                .arg(&hostfile)
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    processes
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let out = p.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "process {i} failed:\n{log}");
            log
        })
        .collect()
}

/// A free port on `ip`.
fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn word_count_on_three_processes_gives_exactly_the_counts_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let hosts = Hosts::new(true);
    let here = hosts.here();
    let port = free_port(&here);
    let flow = write_flow(
        dir.path(),
        "cluster_wc.flow",
        &format!(
            "settings {{ batch = 500ms, blockInterval = 100ms }}\n\
             socket(\"{here}\", {port}) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    let program = build_flow(&flow, &[]);

    // One process.
    let feeder = trickle(
        TcpListener::bind((here.as_str(), port)).unwrap(),
        text.clone(),
    );
    let one = run_one(&program, dir.path(), "one", "4s");
    feeder.join().unwrap();
    let (counts_one, _) = sum_text_files(&one.join("out"), "wc");
    assert_counts(&counts_one, &word_counts(&text));

    // Three processes, each on its own host.
    let three = dir.path().join("three");
    std::fs::create_dir(&three).unwrap();
    let feeder = trickle(
        TcpListener::bind((here.as_str(), port)).unwrap(),
        text.clone(),
    );
    let logs = run_three(&program, (&hosts, &three), &["--for", "5s"], &[]);
    feeder.join().unwrap();
    for (i, log) in logs.iter().enumerate() {
        eprintln!("--- process {i}:\n{log}");
    }
    let (counts_three, batches) = sum_text_files(&three.join("out"), "wc");
    assert!(batches >= 4, "{batches} batches");
    assert_counts(&counts_three, &counts_one);
    // Each of the other processes computed a share of the input.
    for (i, log) in logs.iter().enumerate().skip(1) {
        let ran = log
            .lines()
            .find_map(|l| l.split_once("ran ").map(|(_, r)| r.to_string()))
            .unwrap_or_else(|| panic!("process {i} says what it ran:\n{log}"));
        let partitions: usize = ran
            .split(", ")
            .nth(1)
            .and_then(|p| p.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{ran}"));
        assert!(partitions > 0, "process {i}: {ran}");
    }

    // A process whose peers never come gives up after --connect-timeout, saying why,
    // rather than wait for ever (timely's own behaviour).
    let lonely = dir.path().join("lonely");
    std::fs::write(
        &lonely,
        format!(
            "127.0.0.1:{}\n127.0.0.2:{}\n",
            free_port("127.0.0.1"),
            free_port("127.0.0.2")
        ),
    )
    .unwrap();
    let out = Command::new(&program)
        .current_dir(&three)
        .args([
            "--no-ui",
            "--processes",
            "2",
            "--process",
            "0",
            "--connect-timeout",
            "1s",
        ])
        .arg("--hostfile")
        .arg(&lonely)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("not every process connected within 1s"),
        "{log}"
    );
}

/// Each batch directory `PREFIX-<ms>` under `dir`, in time order, as its sorted lines.
fn batches(dir: &std::path::Path, prefix: &str) -> Vec<Vec<String>> {
    let mut found: Vec<(u64, Vec<String>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_string_lossy().into_owned();
            let ms: u64 = name.strip_prefix(&format!("{prefix}-"))?.parse().ok()?;
            let mut lines = Vec::new();
            for part in std::fs::read_dir(&path).unwrap() {
                let part = part.unwrap().path();
                if part.file_name()?.to_string_lossy().starts_with("part-") {
                    let text = std::fs::read_to_string(&part).unwrap();
                    lines.extend(text.lines().map(String::from));
                }
            }
            lines.sort();
            Some((ms, lines))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, lines)| lines).collect()
}

#[test]
fn a_keyed_window_and_state_give_the_same_batches_on_three_processes_as_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let words = |n: usize, from: usize| -> String {
        (0..n)
            .map(|i| format!("w{}", (from + i * 7) % 23))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let queue: Vec<String> = (0..6)
        .map(|b| {
            if b == 2 {
                "[]".to_string()
            } else {
                format!("[\"{}\", \"{}\"]", words(9 + b, b), words(4, b * 3))
            }
        })
        .collect();
    let flow = write_flow(
        dir.path(),
        "cluster_stateful.flow",
        &format!(
            "settings {{ batch = 300ms, checkpoint = \"ckpt\" }}\n\
             let pairs = queueStream([{}]) | flatMap split | map (w, 1)\n\
             pairs | reduceByKey + | saveAsTextFiles(\"out/counts\")\n\
             pairs | reduceByKeyAndWindow(+, -, 900ms, 300ms, filter: (w, n) => n > 0) | saveAsTextFiles(\"out/window\")\n\
             pairs | updateStateByKey {{ |vs: Vec<i64>, s: Option<i64>| -> Option<i64> {{ Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) }} }} | saveAsTextFiles(\"out/state\")\n",
            queue.join(", ")
        ),
    );
    let program = build_flow(&flow, &[]);

    let one = run_one(&program, dir.path(), "one", "3s");

    let three = dir.path().join("three");
    std::fs::create_dir(&three).unwrap();
    let hosts = Hosts::new(true);
    run_three(&program, (&hosts, &three), &["--for", "3s"], &[]);
    // Every worker kept its share of the state's checkpoints.
    for i in 1..3 {
        assert!(
            three.join(format!("ckpt/worker-{i}")).is_dir(),
            "worker {i}"
        );
    }

    for prefix in ["counts", "window", "state"] {
        let a = batches(&one.join("out"), prefix);
        let b = batches(&three.join("out"), prefix);
        assert!(
            a.len() >= 8 && b.len() >= 8,
            "{prefix}: {} and {} batches",
            a.len(),
            b.len()
        );
        assert_eq!(a[..8], b[..8], "{prefix}");
        assert!(
            a[..8].iter().any(|lines| lines.len() > 3),
            "{prefix} has data: {a:?}"
        );
    }
}

/// A Kafka direct source on three processes: each worker reads from the broker the
/// partitions of each batch it owns and writes them to PostgreSQL itself; every record
/// lands exactly once.
#[test]
fn each_worker_reads_its_kafka_partitions_and_every_record_lands_once() {
    let (Some(pg), Some(broker)) = (pg_url(), service("SLUICE_TEST_KAFKA_BROKER")) else {
        return;
    };
    let id = std::process::id();
    let (topic, table) = (format!("cluster-{id}"), format!("cluster_seqs_{id}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &pg);
    rt.block_on(client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")))
        .unwrap();
    let lines = kafka::seq_lines(30, 40);
    let t = kafka::Topic::create(&broker, &topic, 3);
    for (i, chunk) in lines.chunks(100).enumerate() {
        t.produce(i % 3, chunk);
    }
    let dir = tempfile::tempdir().unwrap();
    let flow = write_flow(
        dir.path(),
        "cluster_kafka.flow",
        &kafka::seq_flow(&topic, &table, "  maxRatePerPartition = 1000\n"),
    );
    let program = build_flow(&flow, &[]);
    // The broker is on this host's loopback: the processes stay on it too.
    let hosts = Hosts::new(false);
    let env = [("PG_URL", pg.as_str()), ("KAFKA_BROKERS", broker.as_str())];
    let logs = run_three(&program, (&hosts, dir.path()), &["--for", "4s"], &env);
    let read: usize = logs[1..]
        .iter()
        .flat_map(|log| log.lines())
        .filter_map(|l| {
            let n = l.split_once(" batch(es), ")?.1.split(' ').next()?;
            n.parse::<usize>().ok()
        })
        .sum();
    assert!(read > 0, "the other workers read no partition themselves");
    assert_eq!(
        kafka::seq_rows(&rt, &client, &table),
        kafka::seq_expected(&lines),
        "every record once"
    );
}
