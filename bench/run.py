#!/usr/bin/env python3
"""Socket word count at an offered-load ladder: Sluice, the hand-written single-thread Rust
ceiling (bench/ceiling), and optionally the Spark Streaming (JVM) peer, one system at a time,
fed the same bytes by the same feeder (../shared/bench). Each system's sustained rate, peak
RSS and CPU seconds per million words, and the ratios Sluice/ceiling and Sluice/Spark.

usage: bench/run.py [--ladder 100000,200000,...] [--step 10] [--batch-ms 1000] [--spark]
                    [--wal] [--shared ../shared/bench] [--out bench/results/wordcount.json]

--workload state feeds words from a vocabulary of 1 M (uniform; feed.py --vocab 1000000
--lines 200000 --uniform) and runs the stateless word count and a running count kept by
`updateStateByKey` on that same feed, one after the other, for the ratio of the two.

--wal also runs Sluice with the write-ahead log on (`writeAheadLog = true`, logs under a
temporary checkpoint directory on the same disk), after the run without it.

--cluster 2,3 also runs Sluice's word count on timely clusters of that many processes on
this machine (loopback addresses 127.0.0.1, .2, ...; one worker each), and reports the
bytes the workers exchanged per word.

The ladder is in lines per second; each line has 10 words. For each system one process
runs while the feeder steps through the ladder; each batch is attributed to the rung that
was being fed at its batch time. A rung is sustained when every batch's scheduling delay
stays below the batch interval and does not grow across the rung. The sustained rate is
the highest rung sustained with every rung below it.
"""
import argparse, json, os, re, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORDS_PER_LINE = 10


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def schedule(ladder, step):
    return ",".join(f"{rate}:{step}" for rate in ladder)


STATE_FEED = ["--vocab", "1000000", "--lines", "200000", "--uniform"]
STATE_OP = ("updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> "
            "{ Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) } } | count | print")


def start_feeder(shared, port, ladder, step, extra=()):
    """feed.py serves its first client only, so it is not probed: it gets time to listen."""
    feeder = subprocess.Popen(
        [sys.executable, os.path.join(shared, "feed.py"), str(port), schedule(ladder, step), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)
    return feeder


def sluice_batches(args, port, seconds, wal=False, state=False, processes=1):
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    flow = os.path.join(work, "bench_wordcount.flow")
    settings = f"batch = {args.batch_ms}ms"
    if wal:
        settings += "\n  checkpoint = \"ckpt\"\n  writeAheadLog = true"
    tail = STATE_OP if state else "reduceByKey + | print(1)"
    with open(flow, "w") as f:
        f.write(f"settings {{\n  {settings}\n}}\n"
                f"socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | {tail}\n")
    sluice = [os.path.join(REPO, "target", "release", "sluice")]
    log = os.path.join(work, "batches.jsonl")
    # Build first (not timed), then run against the feeder.
    subprocess.run(sluice + ["run", flow, "--for", "1ms"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    extra = STATE_FEED if args.workload == "state" else ()
    feeder = start_feeder(args.shared, port, args.ladder, args.step, extra)
    t0 = time.time()
    if processes == 1:
        proc = subprocess.Popen(sluice + ["run", flow, "--for", f"{seconds}s", "--batch-log", log],
                                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        followers = []
    else:
        proc, followers = start_cluster(sluice, flow, work, processes, seconds, log)
    rss = peak_rss(proc, followers)
    proc.wait()
    for f in followers:
        f.wait()
    feeder.wait()
    if followers:
        sent = shipped = 0
        for i in range(processes):
            with open(os.path.join(work, f"stderr-{i}.log")) as f:
                text = f.read()
            sent += sum(int(m) for m in re.findall(r"sent (\d+) bytes", text))
            shipped += sum(int(m) for m in re.findall(r"\((\d+) of them received blocks", text))
        EXCHANGED[proc.pid] = (sent, shipped)
    batches = []
    with open(log) as f:
        for line in f:
            b = json.loads(line)
            batches.append((b["batch_time_ms"], b["records"], b["scheduling_delay_ms"], b["processing_delay_ms"]))
    return batches, t0, rss, proc.pid


def start_cluster(sluice, flow, work, processes, seconds, log):
    """The built program as a cluster of `processes` on loopback addresses: the driver (fed,
    logging batches) and the others; their standard error in stderr-I.log."""
    program = subprocess.run(sluice + ["build", flow], cwd=work, check=True,
                             capture_output=True, text=True).stdout.strip()
    hosts = []
    for i in range(processes):
        ip = f"127.0.0.{i + 1}"
        s = socket.socket()
        s.bind((ip, 0))
        hosts.append(f"{ip}:{s.getsockname()[1]}")
        s.close()
    hostfile = os.path.join(work, "hosts")
    with open(hostfile, "w") as f:
        f.write("\n".join(hosts) + "\n")
    procs = []
    for i in range(processes):
        cmd = [program, "--no-ui", "--processes", str(processes), "--process", str(i),
               "--hostfile", hostfile]
        if i == 0:
            cmd += ["--for", f"{seconds}s", "--batch-log", log]
        err = open(os.path.join(work, f"stderr-{i}.log"), "w")
        procs.append(subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err))
    return procs[0], procs[1:]


CPU_SECONDS = {}
EXCHANGED = {}


def peak_rss(proc, others=()):
    """Polls the process tree's resident memory until it exits (with `others`' trees: a
    cluster's other processes); returns the peak in MiB. Also keeps the trees' CPU time
    (user + system, of live and reaped children) as last seen, in CPU_SECONDS[proc.pid]."""
    peak = 0
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {}
    while proc.poll() is None:
        total = 0
        for pid in [p for root in [proc, *others] for p in tree(root.pid)]:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name
                    cpu[pid] = sum(int(x) for x in fields[11:15]) / tick
            except OSError:
                pass
        peak = max(peak, total)
        CPU_SECONDS[proc.pid] = sum(cpu.values())
        time.sleep(0.2)
    return peak / 1024


def tree(pid):
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        for child in out.split():
            pids += tree(int(child))
    except OSError:
        pass
    return pids


def batch_line_peer(args, port, command, feed_extra=()):
    """Runs a peer that prints `BATCH t= records= sched_ms= proc_ms=` lines (the Spark
    program, the ceiling) against the feeder; its batches, start, peak RSS and pid."""
    feeder = start_feeder(args.shared, port, args.ladder, args.step, feed_extra)
    t0 = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    import threading
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout))
    reader.start()
    rss = peak_rss(proc)
    proc.wait(); reader.join(); feeder.wait()
    batches = []
    for line in lines:
        m = re.match(r"BATCH t=(\d+) records=(\d+) sched_ms=(\d+) proc_ms=(\d+)", line)
        if m:
            batches.append(tuple(int(x) for x in m.groups()))
    return batches, t0, rss, proc.pid


def spark_batches(args, port, seconds):
    state = args.workload == "state"
    command = [os.path.join(args.shared, "spark-java", "run.sh"), str(port), str(args.batch_ms),
               str(seconds), "state" if state else "wc"]
    return batch_line_peer(args, port, command, STATE_FEED if state else ())


def ceiling_batches(args, port, seconds):
    """The hand-written single-thread socket word count (bench/ceiling), same feeder."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    os.path.join(HERE, "ceiling", "Cargo.toml"), "--target-dir",
                    os.path.join(REPO, "target")], check=True)
    command = [os.path.join(REPO, "target", "release", "sluice-ceiling"), str(port),
               str(args.batch_ms), str(seconds)]
    return batch_line_peer(args, port, command, STATE_FEED if args.workload == "state" else ())


def judge(batches, t0, ladder, step, batch_ms):
    """Per rung: offered words/s, processed words/s, max scheduling delay, sustained?
    Sustained: the delay stays below the interval and does not grow, and at least 90 % of
    what was offered was processed (a system slower than the feeder slows the feeder)."""
    start = min(b[0] for b in batches) if batches else 0
    # The feeder starts sending when the system connects, at about the first batch time.
    rows = []
    for i, rate in enumerate(ladder):
        lo, hi = start + i * step * 1000, start + (i + 1) * step * 1000
        rung = [b for b in batches if lo <= b[0] < hi]
        if not rung:
            rows.append(dict(offered=rate * WORDS_PER_LINE, processed=0, max_sched_ms=None, sustained=False))
            continue
        delays = [b[2] for b in rung]
        third = max(1, len(delays) // 3)
        growing = sum(delays[-third:]) / third > sum(delays[:third]) / third + batch_ms / 4
        # A rung's first and last batches straddle the feeder's change of rate.
        inner = rung[1:-1] if len(rung) > 2 else rung
        processed = sum(b[1] for b in inner) * WORDS_PER_LINE / (len(inner) * batch_ms / 1000)
        kept_up = processed >= 0.9 * rate * WORDS_PER_LINE
        rows.append(dict(offered=rate * WORDS_PER_LINE, processed=round(processed),
                         max_sched_ms=max(delays),
                         sustained=max(delays) < batch_ms and not growing and kept_up))
    sustained = 0
    for r in rows:
        if not r["sustained"]:
            break
        sustained = r["offered"]
    return rows, sustained


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ladder", default="100000,200000,400000,800000,1200000,1600000")
    p.add_argument("--step", type=int, default=10)
    p.add_argument("--batch-ms", type=int, default=1000)
    p.add_argument("--spark", action="store_true", help="also run the Spark Streaming JVM peer (needs pyspark's jars, ~490 MB once)")
    p.add_argument("--wal", action="store_true", help="also run Sluice with the write-ahead log on")
    p.add_argument("--workload", choices=["wordcount", "state"], default="wordcount")
    p.add_argument("--cluster", default="", help="also run the word count on clusters of these many processes, e.g. 2,3")
    p.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "bench"))
    p.add_argument("--out", default=os.path.join(HERE, "results", "wordcount.json"))
    args = p.parse_args()
    args.ladder = [int(x) for x in args.ladder.split(",")]
    seconds = len(args.ladder) * args.step + 3
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "sluice"], cwd=REPO, check=True)
    results = {}
    systems = [("sluice", sluice_batches), ("ceiling", ceiling_batches)]
    if args.wal:
        systems.append(("sluice_wal", lambda a, port, secs: sluice_batches(a, port, secs, wal=True)))
    if args.workload == "state":
        systems.append(("sluice_state", lambda a, port, secs: sluice_batches(a, port, secs, state=True)))
    for n in [int(x) for x in args.cluster.split(",") if x]:
        systems.append((f"sluice_{n}_processes",
                        lambda a, port, secs, n=n: sluice_batches(a, port, secs, processes=n)))
    if args.spark:
        systems.append(("spark", spark_batches))
    for name, run in systems:  # one system at a time: never two on these 2 cores
        batches, t0, rss, pid = run(args, free_port(), seconds)
        rows, sustained = judge(batches, t0, args.ladder, args.step, args.batch_ms)
        words = sum(b[1] for b in batches) * WORDS_PER_LINE
        cpu = CPU_SECONDS.get(pid, 0.0)
        per_m = round(cpu / (words / 1e6), 2) if words else None
        results[name] = dict(rungs=rows, sustained_words_per_s=sustained, peak_rss_mib=round(rss, 1),
                             cpu_seconds=round(cpu, 1), cpu_seconds_per_million_words=per_m)
        exchanged = ""
        if pid in EXCHANGED and words:
            sent, shipped = EXCHANGED[pid]
            results[name]["exchanged_bytes"] = sent
            results[name]["exchanged_bytes_per_word"] = round(sent / words, 3)
            results[name]["input_shipped_bytes_per_word"] = round(shipped / words, 3)
            exchanged = (f", {sent / words:.2f} bytes exchanged per word "
                         f"({shipped / words:.2f} of them input blocks shipped by the driver)")
        print(f"\n{name}: sustained {sustained / 1e6:.1f} M words/s, peak RSS {rss:.0f} MiB, "
              f"{per_m} CPU s per million words{exchanged}")
        print(f"  {'offered':>12} {'processed':>12} {'max sched':>10}  sustained")
        for r in rows:
            print(f"  {r['offered']:>12,} {r['processed']:>12,} {str(r['max_sched_ms']):>10}  {r['sustained']}")
    if "spark" in results and results["spark"]["sustained_words_per_s"]:
        # Like for like: with --workload state, Spark runs updateStateByKey too.
        ours = "sluice_state" if "sluice_state" in results else "sluice"
        ratio = results[ours]["sustained_words_per_s"] / results["spark"]["sustained_words_per_s"]
        results["ratio_sluice_over_spark"] = round(ratio, 2)
        print(f"\nSluice / Spark sustained: {ratio:.2f}x")
    if results["ceiling"]["sustained_words_per_s"]:
        ratio = results["sluice"]["sustained_words_per_s"] / results["ceiling"]["sustained_words_per_s"]
        results["ratio_sluice_over_ceiling"] = round(ratio, 2)
        print(f"\nSluice / hand-written ceiling sustained: {ratio:.2f}x")
    if "sluice_state" in results and results["sluice"]["sustained_words_per_s"]:
        ratio = results["sluice_state"]["sustained_words_per_s"] / results["sluice"]["sustained_words_per_s"]
        results["ratio_state_over_stateless"] = round(ratio, 2)
        print(f"\nupdateStateByKey over 1 M keys / stateless word count: {ratio:.2f}x")
    if "sluice_wal" in results and results["sluice"]["sustained_words_per_s"]:
        ratio = results["sluice_wal"]["sustained_words_per_s"] / results["sluice"]["sustained_words_per_s"]
        results["ratio_wal_over_no_wal"] = round(ratio, 2)
        print(f"\nSluice with WAL / without: {ratio:.2f}x")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(batch_ms=args.batch_ms, ladder_lines_per_s=args.ladder, step_s=args.step, results=results), f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
