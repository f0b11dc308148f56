#!/usr/bin/env python3
"""Benchmark `blueprint plan` of the seed blueprint with N services against an
empty state (what a first plan, or a plan after a lost state, costs), against moto
and the PagerDuty emulator adding LATENCY ms per PagerDuty call.

Since plans look before they create (README, "What the engine guarantees"), a
plan with an empty state asks every node's provider whether it already exists,
in dependency waves with each wave's reads in parallel; this measures what that
costs. `--bp` runs another binary (e.g. one built before that change) on the same
guest; `--guest` picks the component (the 0.1.0 build of the seed runs on both
old and new hosts). Median of `--repeat` runs. Usage:

    scripts/bench-plan.py [--services 100] [--latency-ms 100] [--repeat 3] [--existing]
                          [--bp target/release/blueprint] [--guest PATH] [--timings FILE]
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def wait(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"port {port} never opened")


def cpu_seconds(pid):
    """A process's user + system CPU time so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bp", default=os.path.join(ROOT, "target", "release", "blueprint"))
    ap.add_argument("--guest", default=None, help="the guest component (default: the seed's)")
    ap.add_argument("--existing", action="store_true",
                    help="apply first, then plan with an empty state: every node is looked for and found "
                         "(a lost state; the plan stops, exit 1, naming what exists)")
    ap.add_argument("--timings", metavar="FILE", default=None,
                    help="write the last measured plan's trace (blueprint --timings) to FILE")
    args = ap.parse_args()
    aws_port, pd_port = free_port(), free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), os.path.join(ROOT, "tests/moto/server.py"), "-H", "127.0.0.1", "-p", str(aws_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pd = subprocess.Popen([os.path.join(ROOT, "target/release/pagerduty-emulator"), "--listen", f"127.0.0.1:{pd_port}",
                           "--token", "bench", "--latency-ms", str(args.latency_ms)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(aws_port); wait(pd_port)
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{aws_port}", AWS_ACCESS_KEY_ID="b",
                   AWS_SECRET_ACCESS_KEY="b", AWS_REGION="ap-northeast-1", AWS_EC2_METADATA_DISABLED="true",
                   PAGERDUTY_TOKEN="bench", PAGERDUTY_API_URL=f"http://127.0.0.1:{pd_port}",
                   PAGERDUTY_EVENTS_URL=f"http://127.0.0.1:{pd_port}")
        services = json.dumps([{"name": f"svc{i}", "function_name": f"fn-{i}"} for i in range(args.services)])
        with tempfile.TemporaryDirectory() as d:
            seed = SEED
            if args.guest:
                # The seed's file with another component; handler paths stay
                # relative to blueprints/, so the copy lives there.
                text = open(SEED).read()
                guest = os.path.abspath(args.guest)
                text = text.replace('path = "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm"',
                                    f'path = "{guest}"')
                seed = os.path.join(ROOT, "blueprints", f".bench-plan-{os.getpid()}.toml")
                open(seed, "w").write(text)
            try:
                sets = ["--set", f"services={services}", "--set", "bucket_name=bench-plan"]
                nodes = len(json.loads(subprocess.check_output([args.bp, "graph", seed] + sets, env=env))["nodes"])
                times, moto_cpu = [], []
                if args.existing:
                    subprocess.run([args.bp, "run", seed, "--yes", "--state", os.path.join(d, "applied.json")] + sets,
                                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # The first plan warms moto's lazily loaded backends; not measured.
                for i in range(args.repeat + 1):
                    state = os.path.join(d, f"s{i}.json")
                    started, moto_before = time.perf_counter(), cpu_seconds(moto.pid)
                    trace = ["--timings", args.timings] if args.timings and i == args.repeat else []
                    done = subprocess.run([args.bp, "plan", seed, "--state", state] + sets + trace, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    if done.returncode != (1 if args.existing else 0):
                        sys.exit(f"plan exited {done.returncode}")
                    if i:
                        times.append(time.perf_counter() - started)
                        moto_cpu.append(cpu_seconds(moto.pid) - moto_before)
            finally:
                if seed != SEED:
                    os.unlink(seed)
    finally:
        moto.kill(); pd.kill()
    what = "empty state, all existing" if args.existing else "empty state"
    print(f"services={args.services} nodes={nodes} latency={args.latency_ms}ms  plan ({what}): "
          f"median {statistics.median(times):.2f} s of {[round(t, 2) for t in times]}; "
          f"moto's CPU in a plan: median {statistics.median(moto_cpu):.2f} s")


if __name__ == "__main__":
    main()
