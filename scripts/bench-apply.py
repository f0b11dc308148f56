#!/usr/bin/env python3
"""Benchmark `blueprint run` on the seed blueprint against moto and the PagerDuty
emulator injecting LATENCY ms per PagerDuty call (moto adds its own few ms).

For services = 1, 10 and 50 it reports the wall time of a fresh apply with
--parallelism 10 and 1 (serial), and the critical-path bound: the longest chain of
dependent PagerDuty calls x latency (plan-time lookups included).

With --aws-latency-ms N the AWS fault proxy (tests/aws-fault-proxy) sits before
moto adding N ms per AWS call and counting them; the bound then counts the calls
to both clouds: each node weighs its PagerDuty creates x LATENCY plus the time the
AWS calls its kind made in that run took at the proxy (its counters, per action,
attributed to kinds: the N ms plus moto's own time, which no client could have
avoided), and the bound is the heaviest chain or all the work / parallelism. The
work counts every call the run made, in both clouds: the AWS calls as the proxy
timed them, and the PagerDuty requests the emulator answered (the plan's looks
before create among them) x LATENCY. `flat` is the same bound with every AWS
call counted as exactly N ms (what the tables before 2026-12-03 used);
`creates only` counts PagerDuty's creates alone, as the tables before
2026-12-07 did while counting AWS's looks. `--runs R` repeats every row R
times and prints medians. Usage:

    scripts/bench-apply.py [--latency-ms 100] [--aws-latency-ms 100] [--markdown]
                           [--runs 3] [--binary PATH] [--guest PATH] [--timings DIR]

`--rows 200:auto,200:10` picks the rows (SERVICES:PARALLELISM); for an `auto`
row the bound is also at least what the published rates allow for the calls
made (the slowest AWS budget of host/src/providers/aws/rates.rs, and with
`--pd-rate-limit 960/min` the PagerDuty requests at that rate), and the last
column counts the emulator's 429 answers. `--binary`/`--guest` compare hosts on
one component (see bench-graph.py).
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "blueprints", "lambda-error-pagerduty.toml")
BP = os.path.join(ROOT, "target", "release", "blueprint")


def pd_requests(port):
    """REST requests the PagerDuty emulator got so far, and how many it answered 429."""
    asked = urllib.request.Request(f"http://127.0.0.1:{port}/_emulator/state",
                                   headers={"Authorization": "Token token=bench"})
    with urllib.request.urlopen(asked) as r:
        requests = json.load(r)["requests"]
        # This request counts itself.
        return requests["rest"] - 1, requests["answered_429"]


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


# What `--parallelism auto` keeps each AWS API to (host/src/providers/aws/rates.rs,
# with its sources): proxy key prefix or key -> (budget, calls per second).
AWS_RATES = {
    "monitoring:PutMetricAlarm": ("cloudwatch:PutMetricAlarm", 3), "monitoring:DescribeAlarms": ("cloudwatch:DescribeAlarms", 9),
    "monitoring:DescribeAlarmsForMetric": ("cloudwatch:DescribeAlarmsForMetric", 9),
    "monitoring:DeleteAlarms": ("cloudwatch:DeleteAlarms", 3), "lambda:GetFunction": ("lambda:GetFunction", 100),
    "lambda:GetPolicy": ("lambda:GetPolicy", 15),
}
AUTO_SLOTS = 32  # host/src/slots.rs


def rate_bound(before, after, pd_requests, pd_per_minute):
    """Seconds the published rates need for the calls of a run: the slowest budget."""
    budgets = {}
    for key, count in after.items():
        n = count - before.get(key, 0)
        if key in AWS_RATES:
            budget, rate = AWS_RATES[key]
        elif key.startswith("lambda:") and not key.startswith("lambda:Invoke"):
            budget, rate = "lambda:control plane", 15
        else:
            continue
        calls, _ = budgets.get(budget, (0, rate))
        budgets[budget] = (calls + n, rate)
    seconds = [calls / rate for calls, rate in budgets.values()]
    if pd_per_minute:
        seconds.append(pd_requests / (pd_per_minute / 60))
    return max(seconds, default=0)


def aws_kind(key):
    service, _, action = key.partition(":")
    for prefix, actions, kind in AWS_KIND:
        if key.startswith(prefix) and (actions is None or action in actions):
            return kind
    return None


def counters(url):
    """The proxy's calls and milliseconds per service:Action."""
    with urllib.request.urlopen(f"{url}/_fault_proxy/counters") as r:
        answer = json.load(r)
        return answer["calls"], answer["milliseconds"]


def aws_per_node(graph, before, after):
    """Average AWS calls (or milliseconds) one node of each kind made in a run."""
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
    ap.add_argument("--runs", type=int, default=1, help="measure every row this often; medians")
    ap.add_argument("--rows", default="1:10,1:1,10:10,50:10",
                    help="SERVICES:PARALLELISM pairs (PARALLELISM a number or auto), comma-separated")
    ap.add_argument("--pd-rate-limit", default=None, metavar="N/min",
                    help="the emulator answers 429 past N requests per minute (PagerDuty's is 960/min)")
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
                           "--token", "bench", "--latency-ms", str(args.latency_ms)]
                          + (["--rate-limit", args.pd_rate_limit] if args.pd_rate_limit else []),
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
        pairs = [(int(n), p) for n, p in (pair.split(":") for pair in args.rows.split(","))]
        plan = [(1, "10", 0)] + [(n, p, run + 1) for n, p in pairs for run in range(args.runs)]
        measured = {}
        for n, parallelism, run in plan:
            sets = ["--set", f"services={services(n)}", "--set", f"bucket_name=bench-{n}-{parallelism}"]
            graph = json.loads(subprocess.check_output([BP, "graph", SEED] + sets, env=env))
            # The bound: the longest chain of PagerDuty calls, or the time `parallelism`
            # workers need for all of them, whichever is longer.
            calls = sum(pd_calls(node["kind"]) for node in graph["nodes"])
            with tempfile.TemporaryDirectory() as d:
                state = os.path.join(d, "s.json")
                before = counters(aws_url) if proxy else ({}, {})
                pd_before = pd_requests(pd_port)
                trace = []
                if args.timings and run == args.runs:
                    os.makedirs(args.timings, exist_ok=True)
                    trace = ["--timings", os.path.join(args.timings, f"apply-{n}-{parallelism}.json")]
                started = time.perf_counter()
                subprocess.run([BP, "run", SEED, "--yes", "--state", state, "--parallelism", str(parallelism)] + sets + trace,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elapsed = time.perf_counter() - started
                after = counters(aws_url) if proxy else ({}, {})
                pd_after = pd_requests(pd_port)
                throttled = pd_after[1] - pd_before[1]
                subprocess.run([BP, "destroy", SEED, "--yes", "--state", state], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pd_made = pd_after[0] - pd_before[0]
            slots = AUTO_SLOTS if parallelism == "auto" else int(parallelism)
            if proxy:
                calls_per_node = aws_per_node(graph, before[0], after[0])
                ms_per_node = aws_per_node(graph, before[1], after[1])
                aws_calls = sum(after[0].values()) - sum(before[0].values())
                def bound_of(aws_weight, pd_work):
                    def weight(kind):
                        return pd_calls(kind) * args.latency_ms + aws_weight(kind)
                    aws_work = sum(aws_weight(node["kind"]) for node in graph["nodes"])
                    # The plan-time lookups cost one PagerDuty call (critical_path's +1).
                    chain = critical_path(graph, weight) - 1 + args.latency_ms
                    return max(chain, (aws_work + pd_work * args.latency_ms) / slots) / 1000
                timed = lambda kind: ms_per_node.get(kind, 0)
                bound = bound_of(timed, pd_made)
                flat = bound_of(lambda kind: calls_per_node.get(kind, 0) * args.aws_latency_ms, pd_made)
                creates_only = bound_of(timed, calls)
                if parallelism == "auto":
                    # What the published rates allow (auto keeps to them).
                    per_minute = int(args.pd_rate_limit.split("/")[0]) if args.pd_rate_limit else None
                    rates = rate_bound(before[0], after[0], pd_made, per_minute)
                    bound, flat, creates_only = max(bound, rates), max(flat, rates), max(creates_only, rates)
            else:
                aws_calls = None
                bound = flat = max(critical_path(graph), pd_made / slots) * args.latency_ms / 1000
                creates_only = max(critical_path(graph), calls / slots) * args.latency_ms / 1000
            if run:
                measured.setdefault((n, parallelism), []).append(
                    (len(graph["nodes"]), pd_made, aws_calls, elapsed, bound, flat, throttled, creates_only))
        for (n, parallelism), runs in measured.items():
            med = lambda i: statistics.median(r[i] for r in runs)
            rows.append((n, parallelism, runs[0][0], round(med(1)), runs[0][2] if runs[0][2] is None else round(med(2)),
                         med(3), med(4), med(5), max(r[6] for r in runs), med(7)))
    finally:
        moto.kill(); pd.kill()
        if proxy:
            proxy.kill()
    if args.markdown:
        print("| services | parallelism | nodes | PagerDuty calls | AWS calls | apply s | bound s | ratio "
              "| ratio, flat bound | ratio, PagerDuty creates only | 429s |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, p, nodes, pdc, awsc, t, b, f, th, c in rows:
            print(f"| {n} | {p} | {nodes} | {pdc} | {awsc if awsc is not None else '-'} | {t:.2f} | {b:.2f} | "
                  f"{t / b:.2f} | {t / f:.2f} | {t / c:.2f} | {th} |")
    else:
        for n, p, nodes, pdc, awsc, t, b, f, th, c in rows:
            aws = f" aws calls {awsc:4}" if awsc is not None else ""
            print(f"services={n:3} parallelism={p:>4} nodes={nodes:4} pd calls {pdc:4}{aws}  apply {t:6.2f} s  "
                  f"bound {b:5.2f} s  ratio {t / b:4.2f}  (flat bound {f:5.2f} s, ratio {t / f:4.2f}; "
                  f"PagerDuty creates only {c:5.2f} s, ratio {t / c:4.2f})  429s {th}")


if __name__ == "__main__":
    main()
