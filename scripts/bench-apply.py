#!/usr/bin/env python3
"""Benchmark `blueprint run` on the seed blueprint against moto and the PagerDuty
emulator injecting LATENCY ms per PagerDuty call (moto adds its own few ms).

For services = 1, 10 and 50 it reports the wall time of a fresh apply with
--parallelism 10 and 1 (serial), and the critical-path bound: the longest chain of
dependent PagerDuty calls x latency (plan-time lookups included). Usage:

    scripts/bench-apply.py [--latency-ms 100] [--markdown]
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")
BP = os.path.join(ROOT, "target", "release", "blueprint")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def wait(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"port {port} never opened")


def services(n):
    return json.dumps([{"name": f"svc{i}", "function_name": f"fn-{i}"} for i in range(n)])


def pd_calls(kind):
    """PagerDuty requests one create makes (lookups happen at plan time)."""
    return {"pagerduty.user": 0, "pagerduty.vendor": 0}.get(kind, 1 if kind.startswith("pagerduty.") else 0)


def critical_path(graph):
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    deps = {n: [] for n in kinds}
    for e in graph["edges"]:
        deps[e["from"]].append(e["to"])
    memo = {}
    def depth(n):
        if n not in memo:
            memo[n] = pd_calls(kinds[n]) + max((depth(d) for d in deps[n]), default=0)
        return memo[n]
    # +1: the lookups (users, vendor) run in parallel at plan time.
    return max(depth(n) for n in kinds) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    aws_port, pd_port = free_port(), free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(aws_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pd = subprocess.Popen([os.path.join(ROOT, "target/release/pagerduty-emulator"), "--listen", f"127.0.0.1:{pd_port}",
                           "--token", "bench", "--latency-ms", str(args.latency_ms)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait(aws_port); wait(pd_port)
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{aws_port}", AWS_ACCESS_KEY_ID="b",
                   AWS_SECRET_ACCESS_KEY="b", AWS_REGION="ap-northeast-1", AWS_EC2_METADATA_DISABLED="true",
                   PAGERDUTY_TOKEN="bench", PAGERDUTY_API_URL=f"http://127.0.0.1:{pd_port}",
                   PAGERDUTY_EVENTS_URL=f"http://127.0.0.1:{pd_port}")
        # The first run warms moto (it loads each service's backend lazily, IAM's
        # managed policies included); it is not measured.
        for n, parallelism, measured in [(1, 10, False), (1, 10, True), (1, 1, True), (10, 10, True), (50, 10, True)]:
            sets = ["--set", f"services={services(n)}", "--set", f"bucket_name=bench-{n}-{parallelism}"]
            graph = json.loads(subprocess.check_output([BP, "graph", SEED] + sets, env=env))
            # The bound: the longest chain of PagerDuty calls, or the time `parallelism`
            # workers need for all of them, whichever is longer.
            calls = sum(pd_calls(node["kind"]) for node in graph["nodes"])
            bound = max(critical_path(graph), calls / parallelism) * args.latency_ms / 1000
            with tempfile.TemporaryDirectory() as d:
                state = os.path.join(d, "s.json")
                started = time.perf_counter()
                subprocess.run([BP, "run", SEED, "--yes", "--state", state, "--parallelism", str(parallelism)] + sets,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elapsed = time.perf_counter() - started
                subprocess.run([BP, "destroy", SEED, "--yes", "--state", state], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if measured:
                rows.append((n, parallelism, len(graph["nodes"]), elapsed, bound))
    finally:
        moto.kill(); pd.kill()
    if args.markdown:
        print("| services | parallelism | nodes | apply s | bound s | ratio |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n, p, nodes, t, b in rows:
            print(f"| {n} | {p} | {nodes} | {t:.2f} | {b:.2f} | {t / b:.2f} |")
    else:
        for n, p, nodes, t, b in rows:
            print(f"services={n:3} parallelism={p:2} nodes={nodes:4}  apply {t:6.2f} s  bound {b:5.2f} s  ratio {t / b:4.2f}")


if __name__ == "__main__":
    main()
