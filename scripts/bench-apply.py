#!/usr/bin/env python3
"""Benchmark `blueprint run` on the seed blueprint against moto and the PagerDuty
emulator injecting LATENCY ms per PagerDuty call (moto adds its own few ms).

For services = 1, 10 and 50 it reports the wall time of a fresh apply with
--parallelism 10 and 1 (serial), and the critical-path bound: the longest chain of
dependent PagerDuty calls x latency (plan-time lookups included).

With --aws-latency-ms N the AWS fault proxy (tests/aws-fault-proxy) sits before
moto adding N ms per AWS call and counting them; the bound then counts the calls
to both clouds: each node weighs its PagerDuty calls x LATENCY plus the AWS calls
its kind made in that run (the proxy's counters, per action, attributed to kinds)
x N, and the bound is the heaviest chain or all the weight / parallelism. Usage:

    scripts/bench-apply.py [--latency-ms 100] [--aws-latency-ms 100] [--markdown]
                           [--binary PATH] [--guest PATH]

`--binary`/`--guest` compare hosts on one component (see bench-graph.py).
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time, urllib.request

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


def critical_path(graph, weight=None):
    """The heaviest chain of dependent nodes; `weight(kind)` defaults to PagerDuty calls."""
    weight = weight or pd_calls
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    deps = {n: [] for n in kinds}
    for e in graph["edges"]:
        deps[e["from"]].append(e["to"])
    memo = {}
    def depth(n):
        if n not in memo:
            memo[n] = weight(kinds[n]) + max((depth(d) for d in deps[n]), default=0)
        return memo[n]
    # +1: the lookups (users, vendor) run in parallel at plan time.
    return max(depth(n) for n in kinds) + 1


# Which kind an AWS call (service:Action, as the proxy counts them) works for.
AWS_KIND = [
    ("iam:", ("AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies"), "aws.iam_role_policy_attachment"),
    ("iam:", None, "aws.iam_role"),
    ("s3:", ("PutObject", "GetObject", "HeadObject", "DeleteObject"), "aws.s3_object"),
    ("s3:", None, "aws.s3_bucket"),
    ("logs:", ("PutMetricFilter", "DescribeMetricFilters", "DeleteMetricFilter"), "aws.cloudwatch_log_metric_filter"),
    ("logs:", None, "aws.cloudwatch_log_group"),
    ("lambda:", None, "aws.lambda_function"),
    ("sns:", ("Subscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes", "ListSubscriptionsByTopic",
              "ListSubscriptions", "Unsubscribe"), "aws.sns_topic_subscription"),
    ("sns:", None, "aws.sns_topic"),
    ("monitoring:", None, "aws.cloudwatch_metric_alarm"),
]


def aws_kind(key):
    service, _, action = key.partition(":")
    for prefix, actions, kind in AWS_KIND:
        if key.startswith(prefix) and (actions is None or action in actions):
            return kind
    return None


def counters(url):
    with urllib.request.urlopen(f"{url}/_fault_proxy/counters") as r:
        return json.load(r)["calls"]


def aws_calls_per_node(graph, before, after):
    """Average AWS calls one node of each kind made in a run."""
    nodes = {}
    for n in graph["nodes"]:
        nodes[n["kind"]] = nodes.get(n["kind"], 0) + 1
    calls = {}
    for key, count in after.items():
        kind = aws_kind(key)
        if kind:
            calls[kind] = calls.get(kind, 0) + count - before.get(key, 0)
    return {kind: c / nodes[kind] for kind, c in calls.items() if nodes.get(kind)}


def main():
    global BP, SEED
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--aws-latency-ms", type=int, default=0)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--binary", default=BP)
    ap.add_argument("--guest", default=None)
    ap.add_argument("--timings", metavar="DIR", default=None,
                    help="write each measured apply's trace (blueprint --timings) to DIR/apply-N-P.json")
    args = ap.parse_args()
    BP = args.binary
    if args.guest:
        text = open(SEED).read().replace(
            'path = "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm"',
            f'path = "{os.path.abspath(args.guest)}"')
        SEED = os.path.join(ROOT, "blueprints", f".bench-apply-{os.getpid()}.toml")
        open(SEED, "w").write(text)
    try:
        measure(args)
    finally:
        if args.guest:
            os.unlink(SEED)


def measure(args):
    aws_port, pd_port, proxy_port = free_port(), free_port(), free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), os.path.join(ROOT, "tests/moto/server.py"), "-H", "127.0.0.1", "-p", str(aws_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pd = subprocess.Popen([os.path.join(ROOT, "target/release/pagerduty-emulator"), "--listen", f"127.0.0.1:{pd_port}",
                           "--token", "bench", "--latency-ms", str(args.latency_ms)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = None
    aws_url = f"http://127.0.0.1:{aws_port}"
    if args.aws_latency_ms:
        proxy = subprocess.Popen([os.path.join(ROOT, "target/release/aws-fault-proxy"), "--upstream", aws_url,
                                  "--listen", f"127.0.0.1:{proxy_port}", "--latency-ms", str(args.aws_latency_ms)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        aws_url = f"http://127.0.0.1:{proxy_port}"
    rows = []
    try:
        wait(aws_port); wait(pd_port)
        if proxy:
            wait(proxy_port)
        env = dict(os.environ, AWS_ENDPOINT_URL=aws_url, AWS_ACCESS_KEY_ID="b",
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
            with tempfile.TemporaryDirectory() as d:
                state = os.path.join(d, "s.json")
                before = counters(aws_url) if proxy else {}
                trace = []
                if args.timings and measured:
                    os.makedirs(args.timings, exist_ok=True)
                    trace = ["--timings", os.path.join(args.timings, f"apply-{n}-{parallelism}.json")]
                started = time.perf_counter()
                subprocess.run([BP, "run", SEED, "--yes", "--state", state, "--parallelism", str(parallelism)] + sets + trace,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elapsed = time.perf_counter() - started
                after = counters(aws_url) if proxy else {}
                subprocess.run([BP, "destroy", SEED, "--yes", "--state", state], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if proxy:
                per_node = aws_calls_per_node(graph, before, after)
                aws_calls = sum(after.values()) - sum(before.values())
                def weight(kind):
                    return pd_calls(kind) * args.latency_ms + per_node.get(kind, 0) * args.aws_latency_ms
                total = sum(weight(node["kind"]) for node in graph["nodes"])
                # The plan-time lookups cost one PagerDuty call (critical_path's +1).
                chain = critical_path(graph, weight) - 1 + args.latency_ms
                bound = max(chain, total / parallelism) / 1000
            else:
                aws_calls = None
                bound = max(critical_path(graph), calls / parallelism) * args.latency_ms / 1000
            if measured:
                rows.append((n, parallelism, len(graph["nodes"]), calls, aws_calls, elapsed, bound))
    finally:
        moto.kill(); pd.kill()
        if proxy:
            proxy.kill()
    if args.markdown:
        print("| services | parallelism | nodes | PagerDuty calls | AWS calls | apply s | bound s | ratio |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, p, nodes, pdc, awsc, t, b in rows:
            print(f"| {n} | {p} | {nodes} | {pdc} | {awsc if awsc is not None else '-'} | {t:.2f} | {b:.2f} | {t / b:.2f} |")
    else:
        for n, p, nodes, pdc, awsc, t, b in rows:
            aws = f" aws calls {awsc:4}" if awsc is not None else ""
            print(f"services={n:3} parallelism={p:2} nodes={nodes:4} pd calls {pdc:4}{aws}  apply {t:6.2f} s  "
                  f"bound {b:5.2f} s  ratio {t / b:4.2f}")


if __name__ == "__main__":
    main()
