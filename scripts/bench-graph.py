#!/usr/bin/env python3
"""Benchmark `blueprint graph` on the seed blueprint: cold (no compiled-code cache)
and warm (cached), with `services` lists of 1, 10, 100 and 1000 entries.

Each case runs the real binary as a user would, several times; it reports the
median and best wall time and the peak RSS of the process. Usage:

    scripts/bench-graph.py [--runs N] [--binary target/release/blueprint] [--guest PATH] [--markdown]

`--guest` runs the seed's file with another component (e.g. the 0.1.0 build of
the seed, which hosts before and after the WIT 0.2.0 change both run).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")


def run_once(cmd, env):
    """Wall seconds and peak RSS (MiB) of one run of cmd."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024.0


def services(n):
    return json.dumps([{"name": f"svc{i}", "function_name": f"fn-{i}"} for i in range(n)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "blueprint"))
    ap.add_argument("--guest", default=None)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    cache = tempfile.mkdtemp(prefix="blueprint-bench-cache-")
    env = dict(os.environ, BLUEPRINT_CACHE_DIR=cache)
    seed = SEED
    if args.guest:
        text = open(SEED).read().replace(
            'path = "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm"',
            f'path = "{os.path.abspath(args.guest)}"')
        seed = os.path.join(ROOT, "blueprints", f".bench-graph-{os.getpid()}.toml")
        open(seed, "w").write(text)
    try:
        measure(args, env, seed)
    finally:
        if seed != SEED:
            os.unlink(seed)


def measure(args, env, seed):
    base = [args.binary, "graph", seed]
    cases = [("seed, cold (compile every run)", base + ["--no-cache"], 1)]
    for n in (1, 10, 100, 1000):
        cases.append((f"services={n}, warm cache", base + ["--set", f"services={services(n)}"], n))

    run_once(base, env)  # populate the compiled-code cache
    rows = []
    for label, cmd, n in cases:
        samples = [run_once(cmd, env) for _ in range(args.runs)]
        times = [s[0] * 1000 for s in samples]
        rss = max(s[1] for s in samples)
        rows.append((label, statistics.median(times), min(times), rss))

    if args.markdown:
        print("| case | median ms | best ms | peak RSS MiB |")
        print("|---|---:|---:|---:|")
        for label, med, best, rss in rows:
            print(f"| {label} | {med:.1f} | {best:.1f} | {rss:.1f} |")
    else:
        for label, med, best, rss in rows:
            print(f"{label:36} median {med:8.1f} ms  best {best:8.1f} ms  peak RSS {rss:6.1f} MiB")


if __name__ == "__main__":
    main()
