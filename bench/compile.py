#!/usr/bin/env python3
"""The compile-time experience, measured: `sluice check` of a 50-operator file, its
expansion to Rust (`sluice expand`: the checker plus code generation, the work `stream!`
does), a warm `sluice run` start of an unchanged file, and a cold build of the pipeline
program (a fresh pipeline cache; the dependencies already compiled in the shared target
directory, as after a first build).

usage: bench/compile.py [--runs 10]     (writes bench/results/compile.json)
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUICE = os.path.join(REPO, "target", "release", "sluice")


def flow_50():
    """A valid pipeline of exactly 50 operators."""
    ops = ['queueStream([["a b a"], ["b c"]])', "flatMap split", "filter w => len(w) > 0",
           "map (w, 1)"]
    ops += ["mapValues n => n + 1"] * 44
    ops += ["reduceByKey +", "print"]
    assert len(ops) == 50
    return "settings { batch = 100ms }\n" + "\n  | ".join(ops) + "\n"


def timed(cmd, runs, **kw):
    """Median and minimum wall time of `cmd`, in milliseconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, **kw)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1), round(min(times), 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        flow = os.path.join(work, "fifty.flow")
        with open(flow, "w") as f:
            f.write(flow_50())
        results["check_50_ops_ms"] = timed([SLUICE, "check", flow], args.runs)
        results["expand_50_ops_ms"] = timed([SLUICE, "expand", flow], args.runs)
        env = dict(os.environ, SLUICE_CACHE=os.path.join(work, "cache"))
        t0 = time.perf_counter()
        subprocess.run([SLUICE, "build", flow], check=True, capture_output=True, env=env)
        results["cold_build_s"] = round(time.perf_counter() - t0, 1)
        results["warm_run_start_ms"] = timed(
            [SLUICE, "run", flow, "--for", "1ms"], max(3, args.runs // 3), env=env)
    targets = {"check_50_ops_ms": 50, "expand_50_ops_ms": 100, "warm_run_start_ms": 2000}
    for k, v in results.items():
        shown = f"median {v[0]} ms, best {v[1]} ms" if isinstance(v, tuple) else f"{v} s"
        target = f" (target <= {targets[k]} ms)" if k in targets else ""
        print(f"{k}: {shown}{target}")
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "compile.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
