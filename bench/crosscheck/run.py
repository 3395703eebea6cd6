#!/usr/bin/env python3
"""Cross-checks Sluice's semantics against Spark Streaming itself: the same word count,
windowed count (reduceByKeyAndWindow with an inverse) and updateStateByKey on the same
batches, run by both and compared batch by batch, exactly.

usage: bench/crosscheck/run.py [--batches 24] [--seed 7] [--batch-ms 500] [--modes wc,window,state]

Opt-in, outside CI: Spark's side needs Java 17 and PySpark's jars (a venv in $SPARK_VENV,
default /tmp/spark-peer-venv, made once by ../shared/bench/spark-java/run.sh or here).
Both read the batches through queueStream (one batch per interval, then empty ones), so
which record lands in which batch does not depend on timing. Writes
bench/results/crosscheck.json.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

PIPELINES = {
    "wc": "flatMap split | map (w, 1) | reduceByKey +",
    "window": "flatMap split | map (w, 1) | reduceByKeyAndWindow(+, -, {window}ms, {batch}ms)",
    "state": "flatMap split | map (w, 1) | updateStateByKey "
    "{{ |vs: Vec<i64>, s: Option<i64>| -> Option<i64> {{ Some(s.unwrap_or(0) + vs.iter().sum::<i64>()) }} }}",
}


def make_batches(seed, n, vocab=12):
    """Batches of lines of words; every fifth batch is empty, so windows and state see gaps."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 5 == 3:
            out.append([])
            continue
        out.append([
            " ".join(f"w{rng.randrange(vocab)}" for _ in range(rng.randrange(1, 6)))
            for _ in range(rng.randrange(1, 8))
        ])
    return out


def parse_print(text):
    """The batches of Spark's `print` format, in order: each a sorted list of (key, value)."""
    batches = []
    for line in text.splitlines():
        if re.fullmatch(r"Time: \d+ ms", line):
            batches.append([])
        elif batches and line.startswith("(") and line.endswith(")"):
            key, value = line[1:-1].rsplit(",", 1)
            batches[-1].append((key, int(value)))
    return [sorted(b) for b in batches]


def spark_jars():
    venv = os.environ.get("SPARK_VENV", "/tmp/spark-peer-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "pyspark==4.3.0"], check=True)
    return subprocess.check_output(
        [py, "-c", "import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))"],
        text=True).strip()


def run_spark(work, mode, batches, batch_ms, run):
    jars = spark_jars()
    classes = os.path.join(work, "classes")
    if not os.path.exists(os.path.join(classes, "CrossCheck.class")):
        os.makedirs(classes, exist_ok=True)
        subprocess.run(["javac", "-nowarn", "-cp", f"{jars}/*", "-d", classes,
                        os.path.join(HERE, "CrossCheck.java")], check=True)
    path = os.path.join(work, "input.txt")
    with open(path, "w") as f:
        for b in batches:
            f.write("|".join(b) + "\n")
    opens = ["--add-opens=java.base/" + p + "=ALL-UNNAMED" for p in
             ["sun.nio.ch", "java.nio", "java.lang", "java.util", "sun.util.calendar"]]
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1")
    out = subprocess.run(["java", "-Xmx2g", *opens, "-cp", f"{classes}:{jars}/*", "CrossCheck",
                          path, mode, str(batch_ms), str(run)],
                         capture_output=True, text=True, env=env, check=True)
    return parse_print(out.stdout)


def run_sluice(work, mode, batches, batch_ms, run):
    queue = ", ".join("[" + ", ".join(f'"{l}"' for l in b) + "]" for b in batches)
    pipeline = PIPELINES[mode].format(window=3 * batch_ms, batch=batch_ms)
    flow = os.path.join(work, f"crosscheck_{mode}.flow")
    with open(flow, "w") as f:
        f.write(f"settings {{ batch = {batch_ms}ms }}\n"
                f"queueStream([{queue}]) | {pipeline} | print(100000)\n")
    out = subprocess.run(["cargo", "run", "--quiet", "--release", "--", "run", flow,
                          "--for", f"{run * batch_ms}ms"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    return parse_print(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch-ms", type=int, default=500)
    p.add_argument("--modes", default="wc,window,state")
    args = p.parse_args()
    batches = make_batches(args.seed, args.batches)
    # The input, then enough empty batches for the window to drain; each side runs a
    # few more, and the first `compare` batches are compared.
    compare = args.batches + 3
    run = compare + 4
    report = {"seed": args.seed, "batches": args.batches, "batch_ms": args.batch_ms, "modes": {}}
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for mode in args.modes.split(","):
            spark = run_spark(work, mode, batches, args.batch_ms, run)
            sluice = run_sluice(work, mode, batches, args.batch_ms, run)
            if len(spark) < compare or len(sluice) < compare:
                print(f"{mode}: too few batches printed (Spark {len(spark)}, Sluice {len(sluice)}, "
                      f"need {compare})")
                failed = True
                report["modes"][mode] = {"compared": 0, "equal": False}
                continue
            diffs = [i for i in range(compare) if spark[i] != sluice[i]]
            records = sum(len(b) for b in spark[:compare])
            report["modes"][mode] = {"compared": compare, "records": records,
                                     "equal": not diffs, "differing_batches": diffs}
            if diffs:
                failed = True
                i = diffs[0]
                print(f"{mode}: {len(diffs)} of {compare} batches differ; first, batch {i}:\n"
                      f"  Spark:  {spark[i]}\n  Sluice: {sluice[i]}")
            else:
                print(f"{mode}: {compare} batches, {records} records, identical")
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "crosscheck.json"), "w") as f:
        json.dump(report, f, indent=2)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
