#!/usr/bin/env python3
"""Compare the seed guest in Rust, Python and TypeScript: component size, cold
`blueprint graph` (no compiled-code cache), cached `blueprint graph`, the guest's
own phases (load = read + compile/map, instantiate, run) from the host's `-vv`
timings, and the edit loop: a one-line change to the guest's source (the default
metric namespace, a new value each run) until the new graph is printed —

  - "build": the release build of the component (cargo / componentize-py /
    build.sh), then the first `blueprint graph` of the new component;
  - "dev": `blueprint dev FILE --once`, the source run by the prebuilt language
    runtime (TypeScript and Python; nothing is built).

Peak memory is the largest of the loop's steps. Where `node` and a cdktf app are
present (`--cdktf-app DIR`: a folder whose `node main.js` synthesizes the seed's
stacks, with its node_modules installed), `cdktf synth` of the same stacks is
timed for comparison; otherwise that row is skipped with a message. Median of N
runs of the real binary (`target/release/blueprint`; build it and the guests
first). Usage:

    scripts/bench-languages.py [--runs N] [--markdown] [--cdktf-app DIR] [--no-edit-loop]
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
GUEST_DIR = os.path.join(ROOT, "target", "wasm32-wasip2", "guest")
GUESTS = {
    "rust": "lambda_error_pagerduty.wasm",
    "python": "lambda_error_pagerduty_py.wasm",
    "typescript": "lambda_error_pagerduty_ts.wasm",
}
TIMING = re.compile(r"load: ([\d.]+)(µs|ms|s), instantiate: ([\d.]+)(µs|ms|s), run: ([\d.]+)(µs|ms|s)")
UNIT = {"µs": 1e-3, "ms": 1.0, "s": 1e3}
TIME = "/usr/bin/time"


def blueprint_file(folder, wasm, dev_source=None):
    os.makedirs(folder, exist_ok=True)
    seed = open(os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")).read()
    text = seed.replace('path = "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm"',
                        f'path = "{wasm}"')
    if dev_source:
        text += f'\n[dev]\nsource = "{dev_source}"\n'
    shutil.copytree(os.path.join(ROOT, "blueprints", "lambda-error-pagerduty-handler"),
                    os.path.join(folder, "lambda-error-pagerduty-handler"), dirs_exist_ok=True)
    path = os.path.join(folder, "seed.toml")
    open(path, "w").write(text)
    return path


def measured(cmd, env=None, cwd=None):
    """Run cmd; (wall ms, peak RSS MiB, stderr)."""
    have_time = os.path.exists(TIME)
    full = ([TIME, "-f", "@@maxrss %M"] if have_time else []) + cmd
    started = time.perf_counter()
    out = subprocess.run(full, env=env, cwd=cwd, capture_output=True, text=True)
    wall = (time.perf_counter() - started) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    rss = re.findall(r"@@maxrss (\d+)", out.stderr)
    return wall, (int(rss[-1]) / 1024 if rss else float("nan")), out.stderr


def graph(path, env, cold):
    cmd = [BIN, "-vv"] + (["--no-cache"] if cold else []) + ["graph", path]
    wall, rss, err = measured(cmd, env)
    m = TIMING.search(re.sub(r"\x1b\[[0-9;]*m", "", err))
    phases = [float(m.group(i)) * UNIT[m.group(i + 1)] for i in (1, 3, 5)]
    return wall, phases, rss


def edit(path, old, new):
    text = open(path).read()
    assert old in text, f"{old!r} not in {path}"
    open(path, "w").write(text.replace(old, new, 1))


def edit_loop(lang, runs, tmp, env):
    """[(build-mode ms, peak MiB)], [(dev-mode ms, peak MiB)] for `runs` edits."""
    build_rows, dev_rows = [], []
    work = os.path.join(tmp, f"edit-{lang}")
    shutil.copytree(os.path.join(ROOT, "wit"), os.path.join(work, "wit"))
    if lang == "rust":
        # Edited in place (cargo needs the workspace) and restored afterwards.
        source = os.path.join(ROOT, "guests", "lambda-error-pagerduty", "src", "lib.rs")
        original = open(source).read()
        wasm = os.path.join(GUEST_DIR, GUESTS["rust"])
        seed = blueprint_file(os.path.join(work, "bp"), wasm)
        build = ["cargo", "build", "-q", "--profile", "guest", "--target", "wasm32-wasip2",
                 "-p", "lambda-error-pagerduty"]
        try:
            previous = "LambdaErrors"
            for i in range(runs):
                edit(source, f'"{previous}"', f'"LambdaErrors{i}"')
                previous = f"LambdaErrors{i}"
                b, brss, _ = measured(build, cwd=ROOT)
                g, grss, _ = measured([BIN, "graph", seed], env)
                build_rows.append((b + g, max(brss, grss)))
        finally:
            open(source, "w").write(original)
            subprocess.run(build, cwd=ROOT, check=True)
        return build_rows, dev_rows
    if lang == "python":
        guest = os.path.join(work, "guests", "lambda-error-pagerduty-py")
        shutil.copytree(os.path.join(ROOT, "guests", "lambda-error-pagerduty-py"), guest,
                        ignore=shutil.ignore_patterns("__pycache__"))
        source = os.path.join(guest, "app.py")
        wasm = os.path.join(work, "py.wasm")
        build = [os.path.join(ROOT, ".venv", "bin", "componentize-py"), "-d",
                 os.path.join(work, "wit"), "-w", "guest", "componentize", "-p", guest, "app",
                 "-o", wasm]
        old = 'metric_namespace: str = "{}"'
    else:
        guest = os.path.join(work, "guests", "lambda-error-pagerduty-ts")
        original = os.path.join(ROOT, "guests", "lambda-error-pagerduty-ts")
        os.makedirs(guest)
        for f in ("src", "package.json", "tsconfig.json", "build.sh"):
            copy = shutil.copytree if os.path.isdir(os.path.join(original, f)) else shutil.copy
            copy(os.path.join(original, f), os.path.join(guest, f))
        os.symlink(os.path.join(original, "node_modules"), os.path.join(guest, "node_modules"))
        source = os.path.join(guest, "src", "app.ts")
        wasm = os.path.join(work, "ts.wasm")
        build = ["bash", os.path.join(guest, "build.sh"), wasm]
        old = 'metric_namespace: "{}"'
    seed = blueprint_file(os.path.join(work, "bp"), wasm, dev_source=source)
    previous = "LambdaErrors"
    # Warm the development runtime (built and compiled once per toolchain).
    measured([BIN, "dev", seed, "--once"], env)
    for i in range(runs):
        edit(source, old.format(previous), old.format(f"LambdaErrors{i}"))
        previous = f"LambdaErrors{i}"
        d, drss, _ = measured([BIN, "dev", seed, "--once"], env)
        dev_rows.append((d, drss))
        b, brss, _ = measured(build, cwd=work)
        g, grss, _ = measured([BIN, "graph", seed], env)
        build_rows.append((b + g, max(brss, grss)))
    return build_rows, dev_rows


def cdktf(app, runs):
    """(median ms, peak MiB) of `node main.js` in a cdktf app, or a reason to skip."""
    if not shutil.which("node"):
        return "skipped: node is not installed"
    if not app:
        return "skipped: no cdktf app given (--cdktf-app DIR, with `npm install` done)"
    if not os.path.isdir(os.path.join(app, "node_modules", "cdktf")):
        return f"skipped: {app} has no node_modules/cdktf (run `npm install` there)"
    rows = [measured(["node", "main.js"], cwd=app)[:2] for _ in range(runs)]
    return statistics.median(r[0] for r in rows), max(r[1] for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--cdktf-app", default=os.environ.get("BLUEPRINT_CDKTF_APP"))
    ap.add_argument("--no-edit-loop", action="store_true")
    args = ap.parse_args()
    med = statistics.median
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The venv's componentize-py builds the Python runtime for guests copied
        # outside the repository.
        path = os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ.get("PATH", "")
        env = dict(os.environ, BLUEPRINT_CACHE_DIR=os.path.join(tmp, "cache"), PATH=path)
        for lang, file in GUESTS.items():
            wasm = os.path.join(GUEST_DIR, file)
            path = blueprint_file(os.path.join(tmp, lang), wasm)
            cold = [graph(path, env, True) for _ in range(args.runs)]
            graph(path, env, False)  # fill the cache
            warm = [graph(path, env, False) for _ in range(args.runs)]
            if args.no_edit_loop:
                build_rows, dev_rows = [], []
            else:
                build_rows, dev_rows = edit_loop(lang, args.runs, tmp, env)
            loop = lambda rs: (med(r[0] for r in rs), max(r[1] for r in rs)) if rs else None
            rows.append((lang, os.path.getsize(wasm) / 1024 / 1024,
                         med([w for w, _, _ in cold]), med([w for w, _, _ in warm]),
                         med([p[0] for _, p, _ in warm]), med([p[1] for _, p, _ in warm]),
                         med([p[2] for _, p, _ in warm]), max(r for _, _, r in cold),
                         loop(build_rows), loop(dev_rows)))
    synth = cdktf(args.cdktf_app, args.runs)

    def cell(pair, unit_s=True):
        if pair is None:
            return "—"
        ms, rss = pair
        return f"{ms / 1000:.2f} s / {rss:.0f} MiB" if unit_s else f"{ms:.0f} ms / {rss:.0f} MiB"

    head = ("guest", "component MiB", "graph cold ms", "graph cached ms", "load (cached) ms",
            "instantiate ms", "run ms", "peak MiB (cold)", "edit→graph, build",
            "edit→graph, dev")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.0f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | "
                  f"{r[6]:.1f} | {r[7]:.0f} | {cell(r[8])} | {cell(r[9], False)} |")
    else:
        for r in rows:
            print(f"{r[0]:<11} {r[1]:6.2f} MiB  cold {r[2]:7.0f} ms  cached {r[3]:6.1f} ms  "
                  f"(load {r[4]:.1f}, instantiate {r[5]:.1f}, run {r[6]:.1f} ms; peak {r[7]:.0f} MiB)  "
                  f"edit loop: build {cell(r[8])}, dev {cell(r[9], False)}")
    if isinstance(synth, str):
        print(f"cdktf synth: {synth}")
    else:
        print(f"cdktf synth (node main.js, same stacks): {synth[0] / 1000:.2f} s, {synth[1]:.0f} MiB")


if __name__ == "__main__":
    main()
