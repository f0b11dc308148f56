#!/usr/bin/env python3
"""Compare the seed guest in Rust, Python and TypeScript: component size, cold
`blueprint graph` (no compiled-code cache), cached `blueprint graph`, and the
guest's own phases (load = read + compile/deserialize, instantiate, run) from the
host's `-vv` timings. Median of N runs of the real binary. Usage:

    scripts/bench-languages.py [--runs N] [--markdown]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "blueprint")
GUESTS = {
    "rust": "lambda_error_pagerduty.wasm",
    "python": "lambda_error_pagerduty_py.wasm",
    "typescript": "lambda_error_pagerduty_ts.wasm",
}
TIMING = re.compile(r"load: ([\d.]+)(µs|ms|s), instantiate: ([\d.]+)(µs|ms|s), run: ([\d.]+)(µs|ms|s)")
UNIT = {"µs": 1e-3, "ms": 1.0, "s": 1e3}


def blueprint_file(folder, wasm):
    seed = open(os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")).read()
    text = seed.replace('path = "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm"',
                        f'path = "{wasm}"')
    shutil.copytree(os.path.join(ROOT, "blueprints", "lambda-error-pagerduty-handler"),
                    os.path.join(folder, "lambda-error-pagerduty-handler"), dirs_exist_ok=True)
    path = os.path.join(folder, "seed.toml")
    open(path, "w").write(text)
    return path


def graph(path, env, cold):
    cmd = [BIN, "-vv"] + (["--no-cache"] if cold else []) + ["graph", path]
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = (time.perf_counter() - started) * 1000
    m = TIMING.search(re.sub(r"\x1b\[[0-9;]*m", "", out.stderr))
    phases = [float(m.group(i)) * UNIT[m.group(i + 1)] for i in (1, 3, 5)]
    return wall, phases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BLUEPRINT_CACHE_DIR=os.path.join(tmp, "cache"))
        for lang, file in GUESTS.items():
            wasm = os.path.join(ROOT, "target", "wasm32-wasip2", "guest", file)
            path = blueprint_file(os.path.join(tmp, lang), wasm)
            cold = [graph(path, env, True) for _ in range(args.runs)]
            graph(path, env, False)  # fill the cache
            warm = [graph(path, env, False) for _ in range(args.runs)]
            med = lambda xs: statistics.median(xs)
            rows.append((lang, os.path.getsize(wasm) / 1024 / 1024,
                         med([w for w, _ in cold]), med([w for w, _ in warm]),
                         med([p[0] for _, p in warm]), med([p[1] for _, p in warm]),
                         med([p[2] for _, p in warm])))
    head = ("guest", "component MiB", "graph cold ms", "graph cached ms", "load (cached) ms",
            "instantiate ms", "run ms")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.0f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.1f} |")
    else:
        for r in rows:
            print(f"{r[0]:<11} {r[1]:6.2f} MiB  cold {r[2]:7.0f} ms  cached {r[3]:6.1f} ms  "
                  f"(load {r[4]:.1f}, instantiate {r[5]:.1f}, run {r[6]:.1f} ms)")


if __name__ == "__main__":
    main()
