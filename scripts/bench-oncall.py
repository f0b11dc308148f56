#!/usr/bin/env python3
"""Benchmark `blueprint oncall` on the seed blueprint with 100 services over 30
days: text, --json and --format svg, with and without a daily restriction; and
`blueprint graph` on the same params, so the on-call computation's own share is
the difference (evaluating the guest is common to both).

Runs the real binary as a user would, with a warm compiled-code cache (one
unmeasured run first); reports median and best wall time. Usage:

    scripts/bench-oncall.py [--runs N] [--binary target/release/blueprint] [--services N] [--days N]
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
RESTRICTED = json.dumps([
    {"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 32400}
])


def wall(cmd, env):
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr.decode()}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "blueprint"))
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    env = dict(os.environ, BLUEPRINT_CACHE_DIR=tempfile.mkdtemp(prefix="blueprint-bench-cache-"))
    services = json.dumps([{"name": f"svc{i}", "function_name": f"fn-{i}"} for i in range(args.services)])
    common = [SEED, "--set", f"services={services}"]
    window = ["--from", "2026-12-01T00:00:00Z", "--to", f"{args.days}d"]
    cases = [
        ("graph (guest evaluation only)", ["graph", *common]),
        ("oncall, text", ["oncall", *common, *window]),
        ("oncall --json", ["oncall", *common, *window, "--json"]),
        ("oncall --format svg", ["oncall", *common, *window, "--format", "svg"]),
        ("oncall --json, restricted 09-18", ["oncall", *common, *window, "--json",
                                             "--set", f"schedule.restrictions={RESTRICTED}"]),
    ]
    print(f"seed with {args.services} services, {args.days}-day window, {args.runs} runs each, warm cache")
    print("| case | median ms | best ms |")
    print("|---|---:|---:|")
    for name, rest in cases:
        cmd = [args.binary, *rest]
        wall(cmd, env)  # warm the compiled-code cache
        times = [wall(cmd, env) * 1000 for _ in range(args.runs)]
        print(f"| {name} | {statistics.median(times):.1f} | {min(times):.1f} |")


if __name__ == "__main__":
    main()
