"""xinvoke's end-to-end chains, offline, the way the path runs on AWS.

  cargo lambda invoke ──► cargo lambda watch (Lambda Runtime API) ──► invoker binary
        ──► xinvoke local (account 2: SigV4, IAM, STS, faults) ──► cargo lambda watch ──► target binary

and, for a third-party STS, `xinvoke invoke` with AWS_ENDPOINT_URL_STS at moto's server.

Run by scripts/e2e.sh (which makes the venv and builds `xinvoke`); see README.md, "End-to-end chains". Prints one
`ok NAME` / `FAIL NAME: why` line per check, the servers' logs after a failure, and
`e2e: N passed, N failed`; exits 1 on any failure.
"""

import argparse
import base64
import collections
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402

REGION = "us-east-1"
SOURCE_KEY = "ASIAXINVOKESOURCE001"
SOURCE_SECRET = "xinvoke-local-source-secret"
# A session of the invoker's execution role: ASIA key and token, as Lambda gives them.
SOURCE_TOKEN = "IQoJxinvokelocalsourcesessiontoken00000000000001"
EXTERNAL_ID = "xinvoke-local-external-id"
ROLE_ARN = "arn:aws:iam::222222222222:role/xinvoke-invoke"
TARGET = "arn:aws:lambda:us-east-1:222222222222:function:target"
INVOKER_ARN = "arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker"
SECRETS = [SOURCE_SECRET, SOURCE_TOKEN, EXTERNAL_ID]


class Checks:
    """`ok`/`FAIL` lines and the counts; a failure prints the servers' logs once per chain."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.servers = []
        self.dumped = set()

    def check(self, name, cond, why="", detail=None):
        if cond:
            self.passed += 1
            print(f"ok   {name}", flush=True)
            return True
        self.failed += 1
        print(f"FAIL {name}: {why}", flush=True)
        if detail is not None:
            text = detail if isinstance(detail, str) else json.dumps(detail, indent=1)
            print("     " + text[:4000].replace("\n", "\n     "), flush=True)
        for s in self.servers:
            if s.name not in self.dumped:
                self.dumped.add(s.name)
                print(s.log_tail(), flush=True)
        return False

    def note(self, text):
        print(f"note {text}", flush=True)


def http(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def clean_env(extra=None):
    """The parent environment without any AWS_* or XINVOKE_* variable (a developer's profile
    or endpoint must not leak into a chain), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XINVOKE_"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env.update(extra or {})
    return env


# ---- cargo lambda watch and invoke ------------------------------------------------------


class Watch:
    """`cargo lambda watch` serving the crate's `invoker` and `target` binaries.

    Watch runs only the Lambda APIs (`--only-lambda-apis`) and the chain starts the two
    binaries itself, as watch would (its environment: the function's name, version, memory, its
    Runtime API under `/.rt/NAME`), from the build `cargo test` made: watch's own `cargo run`
    builds without the dev-dependencies' features (tokio's paused clock, proptest's getrandom),
    which was a second debug build of nearly every dependency. Their stdout goes where watch's
    goes, as when watch runs them."""

    FUNCTIONS = ("invoker", "target")

    def __init__(self, ck, args, name, fn_env, port):
        self.ck = ck
        self.args = args
        self.name = name
        self.fn_env = fn_env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.functions = []
        argv = [args.cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1",
                "--invoke-port", str(port), "--ignore-changes"]
        self.server = procs.Server(name, argv, args.work, env=clean_env(), cwd=args.root,
                                   pgid_file=args.pgid_file)
        ck.servers.append(self.server)

    def started(self):
        if self.server.wait_for_line(r"starting Runtime server", 60) is None:
            return False
        m = self.server.wait_for_line(r"AWS_LAMBDA_RUNTIME_API=(http://[0-9A-Za-z.:\[\]]+/\.rt)", 10)
        if m is None:
            return False
        for function in self.FUNCTIONS:
            env = clean_env(dict(self.fn_env,
                                 AWS_LAMBDA_FUNCTION_NAME=function,
                                 AWS_LAMBDA_FUNCTION_VERSION="1",
                                 AWS_LAMBDA_FUNCTION_MEMORY_SIZE="4096",
                                 AWS_LAMBDA_MAX_CONCURRENCY="1",
                                 AWS_LAMBDA_RUNTIME_API=f"{m.group(1)}/{function}"))
            f = procs.Server(f"{self.name}-{function}", [str(Path(self.args.functions, function))],
                             self.args.work, env=env, cwd=self.args.root, pgid_file=self.args.pgid_file,
                             out_path=self.server.out_path)
            self.ck.servers.append(f)
            self.functions.append(f)
        return True

    def invoke(self, function, data_file=None, data=None, timeout_s=600):
        """`cargo lambda invoke`: (ok, answer) where answer is the function's result, or for a
        function error {"errorType", "errorMessage"} read from the debug log line that carries
        the runtime's raw error body (the human error text is wrapped at 80 columns)."""
        argv = [self.args.cargo_lambda, "lambda", "invoke", "--color", "never", "-v",
                "-A", "127.0.0.1", "-P", str(self.port), function]
        if data_file:
            argv += ["--data-file", str(data_file)]
        else:
            argv += ["--data-ascii", json.dumps(data)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=clean_env())
        if p.returncode == 0:
            try:
                return True, json.loads(p.stdout.strip() or "null")
            except ValueError:
                return True, p.stdout
        m = re.search(r'error received from server error=(".*")\s*$', p.stdout + "\n" + p.stderr, re.M)
        if m:
            try:
                return False, json.loads(json.loads(m.group(1)))
            except ValueError:
                pass
        return False, {"errorType": "?", "errorMessage": p.stderr[-2000:]}

    def stop(self):
        for f in self.functions:
            f.stop()
        self.server.stop()


def record_of(answer):
    """The outcome record inside an invoker answer (a success) or its Lambda error."""
    if isinstance(answer, dict) and "errorType" in answer:
        try:
            return json.loads(answer.get("errorMessage", ""))
        except ValueError:
            return None
    return answer if isinstance(answer, dict) else None


def log_lines(server):
    """The invoker's JSON log lines (watch prints the functions' output on its stdout)."""
    out = []
    for line in server.out_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def invoke_logs(server, since=0):
    """The invoker's `invoke` lines (Powertools-shaped: the record's fields at the top)."""
    return [l for l in log_lines(server)[since:] if l.get("message") == "invoke"]


EMF_UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
             "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
             "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
             "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
             "Count/Second", "None"}


def emf_problems(doc):
    """The rules of CloudWatch's Embedded Metric Format specification a document breaks
    (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)."""
    p = []
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["_aws is a required object"]
    if not isinstance(aws.get("Timestamp"), int) or aws["Timestamp"] < 1_600_000_000_000:
        p.append("_aws.Timestamp: epoch milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return p + ["_aws.CloudWatchMetrics is a required array"]
    for d in directives:
        if not isinstance(d.get("Namespace"), str) or not 1 <= len(d["Namespace"]) <= 255:
            p.append("Namespace: 1-255 characters")
        for dims in d.get("Dimensions", None) or []:
            if not isinstance(dims, list) or len(dims) > 30:
                p.append(f"dimension set {dims}: at most 30 names")
            for n in dims if isinstance(dims, list) else []:
                if not isinstance(doc.get(n), str) or not doc[n]:
                    p.append(f"dimension {n}: a member holding a string")
        metrics = d.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            p.append("Metrics: an array of at most 100 definitions")
            continue
        for m in metrics:
            name = m.get("Name")
            if "Unit" in m and m["Unit"] not in EMF_UNITS:
                p.append(f"{name}: unit {m['Unit']}")
            v = doc.get(name)
            if not (isinstance(v, (int, float)) or (isinstance(v, list) and len(v) <= 100
                                                     and all(isinstance(x, (int, float)) for x in v))):
                p.append(f"metric {name}: a member holding a number")
    return p


def emf_documents(server, since=0):
    return [l for l in log_lines(server)[since:] if "_aws" in l]


# ---- the local endpoint -----------------------------------------------------------------


class Local:
    def __init__(self, ck, args, scenario):
        self.server = procs.Server("local", [args.xinvoke, "local", "--listen", "127.0.0.1:0",
                                             "--scenario", str(scenario)],
                                   args.work, env=clean_env({"RUST_LOG": "info"}), pgid_file=args.pgid_file)
        ck.servers.append(self.server)
        m = self.server.wait_for_line(r"^listening on (http://[0-9.:]+)$", 30)
        self.url = m.group(1) if m else None

    def stats(self):
        return http("GET", self.url + "/_local/stats")

    def fault(self, spec):
        return http("POST", self.url + "/_local/faults", spec)

    def clear_faults(self):
        return http("DELETE", self.url + "/_local/faults")

    def reset(self):
        return http("POST", self.url + "/_local/reset")


def scenario_file(args, watch_port):
    """The built-in scenario with function target's behaviour forwarded to watch's target."""
    builtin = Path(args.root, "src/local/builtin.toml").read_text()
    upstream = f"http://127.0.0.1:{watch_port}/2015-03-31/functions/target/invocations"
    text, n = re.subn(r'^behaviour = "builtin"$', f'behaviour = {{ upstream = "{upstream}" }}', builtin, flags=re.M)
    if n != 1:
        raise SystemExit(f"src/local/builtin.toml: expected one `behaviour = \"builtin\"` line, found {n}")
    # account 1's invoker function runs watch's invoker (`xinvoke load --via invoker`)
    invoker = f"http://127.0.0.1:{watch_port}/2015-03-31/functions/invoker/invocations"
    account2 = text.index('\n[[accounts]]\nid = "222222222222"')
    text = (text[:account2] + f'\n[[accounts.functions]]\nname = "xinvoke-invoker"\ntimeout_s = 60\n'
            f'behaviour = {{ upstream = "{invoker}" }}\n' + text[account2:])
    path = Path(args.work, "scenario.toml")
    path.write_text("# generated by tests/e2e/run.py from src/local/builtin.toml\n" + text)
    return path


# ---- the events ---------------------------------------------------------------------------


def expected_sqs_failures(event):
    """The message ids an SQS batch must hand back (batchItemFailures). A body that is not a
    direct event, or whose payload asks the target to fail (it ran), is final: it goes to the
    failure queue, never back to SQS (docs/lambdas.md, "Nothing runs twice"). In a FIFO message
    group every record after one that was not delivered is handed back, not invoked, so the
    group stays in order."""
    ids = []
    failed_groups = set()
    for r in event["Records"]:
        group = r.get("attributes", {}).get("MessageGroupId")
        if group is not None and group in failed_groups:
            ids.append(r["messageId"])
            continue
        try:
            body = json.loads(r["body"])
            fails = not isinstance(body, dict) or "payload" not in body or (
                isinstance(body["payload"], dict) and "fail" in body["payload"])
        except ValueError:
            fails = True
        if fails and group is not None:
            failed_groups.add(group)
    return ids


def request_body(event):
    """An HTTP event's body as the client sent it (decoded when isBase64Encoded)."""
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body


def check_http(ck, name, ok, answer, want_status, want_class, want_body=None, what=""):
    """An HTTP request's proxy answer: its statusCode, x-xinvoke-class and (JSON) body."""
    answer_ok = isinstance(answer, dict)
    headers = (answer.get("headers") or {}) if answer_ok else {}
    try:
        body = json.loads(answer.get("body") or "null") if answer_ok else None
    except ValueError:
        body = None
    good = ok and answer_ok and answer.get("statusCode") == want_status \
        and headers.get("x-xinvoke-class") == want_class and answer.get("isBase64Encoded") is False \
        and (want_body is None or want_body(body))
    return ck.check(f"{name} {what}-> {want_status}, x-xinvoke-class {want_class}", good, "unexpected answer", answer)


def check_event(ck, chain, watch, path, expect_function, fn_env):
    """Send one file of events/ to the invoker and check the answer by the event's shape."""
    name = f"{chain}: events/{path.name}"
    event = json.loads(path.read_text())
    ok, answer = watch.invoke("invoker", data_file=path)
    rec = record_of(answer)
    if "requestContext" in event and "payload" not in event:
        # an HTTP API (payload 2.0) or Function URL request: answered in proxy format, never
        # a Lambda error; routed by XINVOKE_GATEWAY_CONFIG when the chain gives one
        route = event["rawPath"]
        if "XINVOKE_GATEWAY_CONFIG" in fn_env:
            sent = json.loads(request_body(event))
            check_http(ck, name, ok, answer, 200, "ok", lambda b: b == sent,
                       f"(POST {route}) echoes the request body through examples/gateway.yaml ")
        else:
            check_http(ck, name, ok, answer, 500, "not_configured",
                       lambda b: "XINVOKE_GATEWAY_CONFIG" in (b or {}).get("message", ""),
                       "without routes names XINVOKE_GATEWAY_CONFIG ")
        return
    if (path.name == "load.json" or "load" in event) and fn_env.get("XINVOKE_LOAD_WORKER") != "true":
        # not deployed as a load worker: refused, naming the setting
        ck.check(f"{name} (load) is refused: the function is not a load worker",
                 not ok and (answer or {}).get("errorType") == "invalid_event"
                 and "XINVOKE_LOAD_WORKER" in (answer or {}).get("errorMessage", ""),
                 "unexpected answer", json.dumps(answer)[:500])
        return
    if path.name == "load.json" or "load" in event:
        # the load event's answer is the worker's statistics: 20/s for 2 s, run to the end
        sent = (answer or {}).get("sent", 0) if ok else 0
        ck.check(f"{name} (load) runs its bounded load and answers its statistics",
                 ok and 30 <= sent <= 41 and answer.get("end") == "completed" and "metrics" in answer,
                 "unexpected answer", json.dumps(answer)[:500])
        return
    if "Records" in event:
        want = expected_sqs_failures(event)
        got = [f.get("itemIdentifier") for f in (answer or {}).get("batchItemFailures", [])] if ok else None
        ck.check(f"{name} answers batchItemFailures listing exactly the failing records {want}",
                 ok and got == want, f"got {got}", answer)
        return
    if "detail-type" in event:
        want_payload = json.loads(fn_env.get("XINVOKE_PAYLOAD", "{}"))
        ck.check(f"{name} (schedule) invokes the default target with XINVOKE_PAYLOAD",
                 ok and rec and rec.get("class") == "ok" and rec.get("payload") == want_payload
                 and rec.get("function") == expect_function(None),
                 "unexpected answer", answer)
        return
    if "payload" not in event:
        ck.check(f"{name} answers", ok, "the invoker failed", answer)
        return
    itype = event.get("invocation_type", "RequestResponse")
    status = {"RequestResponse": 200, "Event": 202, "DryRun": 204}[itype]
    function = expect_function(event.get("qualifier"))
    good = ok and rec and rec.get("class") == "ok" and rec.get("status") == status \
        and rec.get("invocation_type") == itype and rec.get("function") == function \
        and rec.get("attempts") == 1 and rec.get("target") == event.get("target", "default")
    what = {"RequestResponse": "the target's echo of the payload", "Event": "202 accepted",
            "DryRun": "204 (permission checked, nothing run)"}[itype]
    if itype == "RequestResponse":
        good = good and rec.get("payload") == event["payload"]
    else:
        good = good and "payload" not in rec
    ck.check(f"{name} ({itype}) answers {what} from {function.split(':function:')[1]}",
             good, "unexpected answer", answer)


def run_events(ck, chain, watch, args, expect_function, fn_env):
    for path in sorted(Path(args.root, "events").glob("*.json")):
        check_event(ck, chain, watch, path, expect_function, fn_env)


def no_secrets(ck, chain, server):
    text = server.out_path.read_text(errors="replace") + server.err_path.read_text(errors="replace")
    leaked = [s for s in SECRETS if s in text]
    ck.check(f"{chain}: the functions' logs carry no secret key or external id", not leaked, f"found {leaked}")


# ---- chains -------------------------------------------------------------------------------


def base_fn_env(local_url):
    return {
        "AWS_ENDPOINT_URL": local_url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": SOURCE_KEY,
        "AWS_SECRET_ACCESS_KEY": SOURCE_SECRET,
        "AWS_SESSION_TOKEN": SOURCE_TOKEN,
        "AWS_EC2_METADATA_DISABLED": "true",
        "XINVOKE_PAYLOAD": '{"from": "the schedule"}',
        "XINVOKE_ATTEMPT_TIMEOUT_MS": "4000",
        "RUST_LOG": "info",
    }


def warm_up(ck, chain, watch):
    """Both functions answer their first invoke."""
    t0 = time.monotonic()
    ok, answer = watch.invoke("target", data={"warm": "up"})
    ck.check(f"{chain}: the target binary runs under cargo lambda watch and echoes",
             ok and answer == {"warm": "up"}, "no echo", answer)
    ok, answer = watch.invoke("invoker", data={"not": "an event"})
    ck.check(f"{chain}: the invoker binary runs under cargo lambda watch (a malformed event is invalid_event)",
             not ok and answer.get("errorType") == "invalid_event", "unexpected answer", answer)
    print(f"     (functions started in {time.monotonic() - t0:.1f}s)", flush=True)


def chain_resource_based(ck, args, local, watch, fn_env):
    chain = "resource-based"
    before = local.stats()
    run_events(ck, chain, watch, args, lambda q: f"{TARGET}:{q or 'live'}", fn_env)
    after = local.stats()
    n = after["invokes_by_function"].get("target", 0) - before["invokes_by_function"].get("target", 0)
    # the one AssumeRole is the gateway route target-role's (events/function-url.json); the
    # invoker's own invokes use its credentials
    assumed = after.get("sts_assume_role", 0) - before.get("sts_assume_role", 0)
    ck.check(f"{chain}: every invoke went through the local endpoint ({n} invokes of target), "
             "one AssumeRole (the role route's)",
             n >= 8 and assumed == 1, "counters", after)
    ok, answer = watch.invoke("invoker", data={"target": "target", "payload": {}})
    rec = record_of(answer)
    ck.check(f"{chain}: the unqualified target is refused on the resource side (policy grants :live only)",
             not ok and answer.get("errorType") == "access_denied_resource" and rec and rec.get("status") == 403
             and rec.get("attempts") == 1 and "add-permission" in (rec.get("hint") or ""),
             "unexpected answer", answer)
    sync = [l for l in invoke_logs(watch.server) if l.get("class") == "ok"]
    ck.check(f"{chain}: the invoker logs one JSON line per invoke with class, attempts and latency",
             sync and all({"class", "attempts", "latency_ms", "function"} <= set(l) for l in sync),
             "no invoke log lines", [l for l in log_lines(watch.server)][-5:])
    observability(ck, chain, local, watch)
    metrics_read_back(ck, chain, args, local, watch)


def emf_to_metric_data(doc):
    """What CloudWatch makes of an EMF document: each metric under each dimension set."""
    data = []
    for d in doc["_aws"]["CloudWatchMetrics"]:
        for dims in d["Dimensions"]:
            for m in d["Metrics"]:
                data.append((d["Namespace"], {
                    "MetricName": m["Name"], "Unit": m.get("Unit", "None"), "Value": float(doc[m["Name"]]),
                    "Dimensions": [{"Name": n, "Value": doc[n]} for n in dims],
                    "Timestamp": doc["_aws"]["Timestamp"] / 1000.0}))
    return data


def metrics_read_back(ck, chain, args, local, watch):
    """`xinvoke load --via invoker --read-metrics` against "AWS" (the local endpoint for Lambda,
    moto for CloudWatch): the harness reads the invoker's metrics back. The test plays
    CloudWatch's part of EMF: it puts each document the invoker writes into moto as metric
    data while the harness waits for them."""
    import boto3  # installed by scripts/e2e.sh with moto[server]
    port = procs.free_port()
    moto_url = f"http://127.0.0.1:{port}"
    moto = procs.Server("moto-cloudwatch", [args.moto_server, "-H", "127.0.0.1", "-p", str(port)], args.work,
                        env=clean_env(), pgid_file=args.pgid_file)
    ck.servers.append(moto)
    if not ck.check(f"{chain}: moto_server starts (CloudWatch)", moto.wait_for_line(r"Running on", 60, stream="err"),
                    "no 'Running on' line"):
        return
    cw = boto3.client("cloudwatch", endpoint_url=moto_url, region_name=REGION,
                      aws_access_key_id="setup", aws_secret_access_key="setup")
    since = len(log_lines(watch.server))
    report_path = Path(args.work, "read-metrics.json")
    env = clean_env({"AWS_ENDPOINT_URL": local.url, "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url, "AWS_REGION": REGION,
                     "AWS_ACCESS_KEY_ID": SOURCE_KEY, "AWS_SECRET_ACCESS_KEY": SOURCE_SECRET, "AWS_SESSION_TOKEN": SOURCE_TOKEN,
                     "XINVOKE_TARGET_ARN": f"{TARGET}:live"})
    argv = [args.xinvoke, "load", "--via", "invoker", "--invoker", INVOKER_ARN, "--requests", "6",
            "--concurrency", "2", "--no-retry", "--payload", "{}", "--read-metrics", "60s",
            "--metrics-service", "invoker", "--json", str(report_path)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    put = 0
    while p.poll() is None:
        docs = [d for d in emf_documents(watch.server, since) if "Invokes" in d]
        for doc in docs[put:]:
            for namespace, datum in emf_to_metric_data(doc):
                cw.put_metric_data(Namespace=namespace, MetricData=[datum])
        put = len(docs)
        time.sleep(0.5)
    out, err = p.communicate()
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    hops = (report.get("phases") or [{}])[-1].get("hops") or {}
    ck.check(f"{chain}: load --via invoker --read-metrics reads the invoker's EMF metrics back from CloudWatch "
             f"({put} documents put)",
             p.returncode == 0 and put == 6 and hops.get("metrics") == {"ok": 6} and hops.get("target") == {"ok": 6},
             "report", {"exit": p.returncode, "hops": hops, "notes": report.get("run", {}).get("notes"),
                        "stderr": err[-1500:]})


def observability(ck, chain, local, watch):
    """The invoker as its operators watch it: one valid EMF document per invoke (CloudWatch's
    specification), Powertools' log fields, and its trace reaching the target through the
    local endpoint."""
    docs = [d for d in emf_documents(watch.server) if "Invokes" in d]
    lines = log_lines(watch.server)
    # a load job's invokes (the `load` event) write log lines but no metrics
    load_jobs = {l.get("function_request_id") for l in lines if l.get("message") == "load job"}
    invokes = [l for l in invoke_logs(watch.server) if l.get("function_request_id") not in load_jobs]
    bad = [(d, emf_problems(d)) for d in emf_documents(watch.server) if emf_problems(d)]
    per_invocation = lambda items: sorted(collections.Counter(i.get("function_request_id") for i in items).items())
    ck.check(f"{chain}: one valid EMF document per invoke ({len(docs)} documents, {len(invokes)} invokes)",
             docs and per_invocation(docs) == per_invocation(invokes) and not bad, "EMF",
             bad[:2] or {"documents": per_invocation(docs), "invokes": per_invocation(invokes)})
    ck.check(f"{chain}: every invoke line carries Powertools' fields",
             all({"level", "timestamp", "service", "function_request_id", "cold_start"} <= set(l) for l in invokes),
             "fields", invokes[-1:])
    since = len(log_lines(watch.server))
    ok, answer = watch.invoke("invoker", data={"payload": {"traced": True}})
    mine = invoke_logs(watch.server, since)
    trace = mine[-1].get("xray_trace_id") if mine else None
    received = [i.get("trace_id") for i in http("GET", local.url + "/_local/invocations")]
    # The local endpoint forwards it to watch's target as X-Amzn-Trace-Id
    # (src/tests/local_upstream.rs checks the forwarding); cargo lambda watch gives each
    # invocation a trace of its own, so the target's log line cannot show it here.
    ck.check(f"{chain}: the invoker passes its invocation's trace to the local endpoint with the Invoke",
             ok and trace and trace.startswith("Root=1-") and received and received[-1] == trace, "trace",
             {"invoker": trace, "endpoint": received[-3:]})


FAULTS = [
    # name, fault spec, expected class, attempts, stop, extra check
    ("EC2ThrottledException (stays)", {"error": "EC2ThrottledException", "times": 20},
     "ec2_throttled", 3, "attempts_exhausted", lambda r: r.get("error_code") == "EC2ThrottledException"),
    ("ENILimitReachedException (stays)", {"error": "ENILimitReachedException", "times": 20},
     "eni_limit", 2, "attempts_exhausted", lambda r: r.get("status") == 502),
    ("EC2 RequestLimitExceeded (EC2UnexpectedException, stays)",
     {"error": "EC2UnexpectedException", "ec2_error_code": "Client.RequestLimitExceeded", "times": 20},
     "ec2_request_limit", 3, "attempts_exhausted",
     lambda r: r.get("ec2_error_code") == "Client.RequestLimitExceeded"),
    ("429 with Retry-After: 1, once", {"error": "TooManyRequestsException", "reason": "CallerRateLimitExceeded",
                                       "retry_after_s": 1, "times": 1},
     "ok", 2, "succeeded",
     lambda r: r["attempt_log"][0]["class"] == "throttled" and r["attempt_log"][1]["wait_before_ms"] >= 1000),
]
# last: the delayed request is still held at the local endpoint when the invoker gives up
TIMEOUT_FAULT = ("target timeout (8 s at the local endpoint, attempt timeout 4 s)", {"latency_ms": 8000, "times": 1},
                 "timeout", 1, "not_retryable", lambda r: r.get("status") is None)


def chain_faults(ck, args, local, watch):
    chain = "faults"
    for fault in FAULTS:
        one_fault(ck, chain, local, watch, *fault)
    function_error(ck, chain, local, watch)
    http_fault(ck, chain, local, watch)
    one_fault(ck, chain, local, watch, *TIMEOUT_FAULT)
    time.sleep(4.5)  # let the held request finish before the next chain
    local.clear_faults()


def one_fault(ck, chain, local, watch, title, spec, klass, attempts, stop, extra):
    event = {"payload": {"fault": "test"}}
    local.clear_faults()
    r = local.fault(dict(spec, function="target"))
    if r != {"ok": True}:
        ck.check(f"{chain}: {title}: fault installed", False, f"control API answered {r}")
        return
    logs_before = len(invoke_logs(watch.server))
    t0 = time.monotonic()
    ok, answer = watch.invoke("invoker", data=event)
    took = time.monotonic() - t0
    rec = record_of(answer)
    got_type = "ok" if ok else answer.get("errorType")
    good = rec is not None and got_type == klass and rec.get("class") == klass \
        and rec.get("attempts") == attempts and rec.get("stop") == stop \
        and len(rec.get("attempt_log", [])) == attempts and extra(rec) and bool(rec.get("hint")) == (klass != "ok")
    ck.check(f"{chain}: {title} -> {klass}, {attempts} attempt(s), stop {stop} ({took:.1f}s)",
             good, f"answer {got_type}, record class {rec and rec.get('class')}, attempts {rec and rec.get('attempts')}, stop {rec and rec.get('stop')}", answer)
    logged = [l for l in invoke_logs(watch.server, 0)[logs_before:]]
    ck.check(f"{chain}: {title}: the invoker's log line says class {klass}, attempts {attempts}",
             len(logged) == 1 and logged[0].get("class") == klass and logged[0].get("attempts") == attempts,
             "log lines", logged)


def function_error(ck, chain, local, watch):
    local.clear_faults()
    ok, answer = watch.invoke("invoker", data={"payload": {"fail": "boom from the e2e test"}})
    rec = record_of(answer)
    ck.check(f"{chain}: the target binary fails -> function_error, 1 attempt, not retried",
             not ok and answer.get("errorType") == "function_error" and rec and rec.get("attempts") == 1
             and rec.get("function_error") == "Unhandled" and rec.get("status") == 200,
             "unexpected answer", answer)
    payload = (rec or {}).get("payload")
    ck.check(f"{chain}: the target's own error (TargetFailure, its message) reaches the invoker's record",
             isinstance(payload, dict) and payload.get("errorType") == "TargetFailure"
             and payload.get("errorMessage") == "boom from the e2e test",
             "payload", payload)


def http_fault(ck, chain, local, watch):
    """The HTTP API sample meets a fault at the target, then the target's own failure: the
    client gets 502 and the class in x-xinvoke-class, never a Lambda error."""
    local.clear_faults()
    local.fault({"function": "target", "error": "KMSAccessDeniedException", "times": 5})
    path = Path(watch.args.root, "events/apigw-http-api.json")
    ok, answer = watch.invoke("invoker", data_file=path)
    check_http(ck, f"{chain}: events/apigw-http-api.json", ok, answer, 502, "kms",
               lambda b: (b or {}).get("class") == "kms", "with KMSAccessDeniedException injected ")
    local.clear_faults()
    event = json.loads(path.read_text())
    event["body"] = json.dumps({"fail": "boom from an HTTP request"})
    ok, answer = watch.invoke("invoker", data=event)
    check_http(ck, f"{chain}: the HTTP API sample", ok, answer, 502, "function_error",
               lambda b: (b or {}).get("class") == "function_error", "asking the target to fail ")


def chain_role(ck, args, local, watch, fn_env, extra_invokes=12):
    chain = "role chaining"
    local.reset()
    run_events(ck, chain, watch, args, lambda q: TARGET + (f":{q}" if q else ""), fn_env)
    for _ in range(extra_invokes):
        watch.invoke("invoker", data={"payload": {"again": True}})
    st = local.stats()
    n = st["invokes_by_function"].get("target", 0)
    ck.check(f"{chain}: ONE AssumeRole at the local endpoint served {n} invokes",
             st.get("sts_assume_role") == 1 and n >= 6 + extra_invokes, "counters", st)
    ok, answer = watch.invoke("invoker", data={"payload": {"who": "assumed"}})
    ck.check(f"{chain}: the invoker's answer names the role-chained target (unqualified ARN, $LATEST)",
             ok and answer.get("function") == TARGET and answer.get("executed_version") == "$LATEST",
             "unexpected answer", answer)


def chain_deadline(ck, args, local, watch):
    """An SQS batch slower than the invoker's timeout. cargo lambda watch sends no usable
    deadline (a constant 600000 ms, in 1970), so XINVOKE_FUNCTION_TIMEOUT_MS=3000 stands in
    for the function's timeout; records run one at a time (XINVOKE_SQS_CONCURRENCY=1), each
    asking the target (a real binary under watch) to sleep 1.5 s."""
    chain = "sqs deadline"
    local.reset()
    records = [{"messageId": f"m{i}", "receiptHandle": f"h{i}",
                "body": json.dumps({"payload": {"sleep_ms": 1500}}), "attributes": {},
                "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:xinvoke-requests", "awsRegion": REGION}
               for i in range(3)]
    logs_before = len(invoke_logs(watch.server))
    t0 = time.monotonic()
    ok, answer = watch.invoke("invoker", data={"Records": records})
    took = time.monotonic() - t0
    got = [f.get("itemIdentifier") for f in (answer or {}).get("batchItemFailures", [])] if ok else None
    ck.check(f"{chain}: a batch slower than the function's 3 s timeout answers in {took:.1f}s, "
             "before it, handing back only the record that never started [m2] (m1 was cut after "
             "it was sent: the target may be running it, so it is final)",
             ok and got == ["m2"] and took < 3.0, f"got {got} after {took:.1f}s", answer)
    lines = invoke_logs(watch.server)[logs_before:]
    stops = sorted((l.get("class"), l.get("stop")) for l in lines)
    ck.check(f"{chain}: the invoker's log says why: one ok, one cut and one never started, both stop deadline",
             stops == [("ok", None), ("timeout", "deadline"), ("timeout", "deadline")], "log lines", lines)
    time.sleep(1.0)  # let the target finish the sleep it was cut from


# ---- the third-party STS (moto) ------------------------------------------------------------


class NotSts(BaseHTTPRequestHandler):
    """A wrong STS endpoint: an HTTP server that answers 404 to everything."""

    def do_POST(self):
        self.send_response(404)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>not here</html>")

    do_GET = do_POST

    def log_message(self, *a):
        pass


def xinvoke_invoke(args, env):
    p = subprocess.run([args.xinvoke, "invoke", "--payload", '{"via": "moto"}', "--deadline", "20"],
                       capture_output=True, text=True, timeout=60, env=clean_env(env))
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, {"stdout": p.stdout, "stderr": p.stderr}


def chain_moto(ck, args, local):
    chain = "moto STS"
    import boto3  # installed by scripts/e2e.sh with moto[server]

    port = procs.free_port()
    moto_url = f"http://127.0.0.1:{port}"
    # moto checks signatures and IAM policies once its first 6 (set-up) requests are done
    moto = procs.Server("moto", [args.moto_server, "-H", "127.0.0.1", "-p", str(port)], args.work,
                        env=clean_env({"INITIAL_NO_AUTH_ACTION_COUNT": "6"}), pgid_file=args.pgid_file)
    ck.servers.append(moto)
    up = moto.wait_for_line(r"Running on", 60, stream="err") is not None
    if not ck.check(f"{chain}: moto_server starts", up, "no 'Running on' line"):
        return
    kw = dict(endpoint_url=moto_url, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="xinvoke-source")
    key = iam.create_access_key(UserName="xinvoke-source")["AccessKey"]
    iam.put_user_policy(UserName="xinvoke-source", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]}))
    iam.create_user(UserName="xinvoke-stranger")
    stranger = iam.create_access_key(UserName="xinvoke-stranger")["AccessKey"]
    iam.create_role(RoleName="xinvoke-invoke", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))

    local.reset()
    env = {"AWS_ENDPOINT_URL": local.url, "AWS_ENDPOINT_URL_STS": moto_url, "AWS_REGION": REGION,
           "XINVOKE_TARGET_ARN": TARGET, "XINVOKE_ROLE_ARN": ROLE_ARN, "XINVOKE_EXTERNAL_ID": EXTERNAL_ID,
           "XINVOKE_CONNECT_TIMEOUT_MS": "1000"}

    # 1. moto grants the role: the SDK parses moto's answer and signs the Lambda call with it
    rc, rec = xinvoke_invoke(args, dict(env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"]))
    data = http("GET", moto_url + "/moto-api/data.json")
    assumed = (data or {}).get("sts", {}).get("AssumedRole", []) if isinstance(data, dict) else []
    ck.check(f"{chain}: AssumeRole reached moto with the role, the external id and the session name",
             len(assumed) == 1 and assumed[0].get("role_arn") == ROLE_ARN
             and assumed[0].get("external_id") == EXTERNAL_ID and assumed[0].get("session_name") == "xinvoke-cli"
             and assumed[0].get("arn") == "arn:aws:sts::222222222222:assumed-role/xinvoke-invoke/xinvoke-cli",
             "moto's recorded AssumeRole calls", assumed)
    st = local.stats()
    ck.check(f"{chain}: moto's credentials were parsed and used: the Lambda call reached the local endpoint "
             "signed with moto's key, which it does not know -> credentials (403 UnrecognizedClientException)",
             rc == 1 and rec.get("class") == "credentials" and rec.get("status") == 403
             and rec.get("error_code") == "UnrecognizedClientException" and rec.get("attempts") == 1
             and bool(rec.get("hint")) and st.get("sts_assume_role") == 0,
             "unexpected record", {"record": rec, "local stats": st})

    # 2. moto refuses: a key it does not know (InvalidClientTokenId)
    rc, rec = xinvoke_invoke(args, dict(env, AWS_ACCESS_KEY_ID=SOURCE_KEY, AWS_SECRET_ACCESS_KEY=SOURCE_SECRET, AWS_SESSION_TOKEN=SOURCE_TOKEN))
    # moto's 403 body is not STS's XML, so the SDK reads no error code from it: the record keeps
    # the status, and a 403 from STS is a refusal, not retried.
    ck.check(f"{chain}: moto refuses AssumeRole for a key it does not know -> credentials (STS's 403, "
             "not retried) with a hint naming STS, no Lambda call",
             rc == 1 and rec.get("class") == "credentials" and rec.get("status") == 403
             and "STS" in (rec.get("hint") or "") and rec.get("attempts") == 1,
             "unexpected record", rec)
    # 3. moto refuses: a known user without sts:AssumeRole (AccessDenied from moto's IAM check)
    rc, rec = xinvoke_invoke(args, dict(env, AWS_ACCESS_KEY_ID=stranger["AccessKeyId"],
                                        AWS_SECRET_ACCESS_KEY=stranger["SecretAccessKey"]))
    ck.check(f"{chain}: moto refuses AssumeRole to a user without sts:AssumeRole -> credentials (STS's 403, "
             "not retried) with a hint naming STS",
             rc == 1 and rec.get("class") == "credentials" and rec.get("status") == 403
             and rec.get("attempts") == 1 and "STS" in (rec.get("hint") or ""),
             "unexpected record", rec)
    after = http("GET", moto_url + "/moto-api/data.json")
    ck.check(f"{chain}: moto granted nothing to the refused callers",
             len(after.get("sts", {}).get("AssumedRole", [])) == 1, "AssumedRole entries", after.get("sts"))

    # 4. a wrong STS endpoint: something that is not STS
    srv = HTTPServer(("127.0.0.1", 0), NotSts)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        rc, rec = xinvoke_invoke(args, dict(env, AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{srv.server_port}",
                                            AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"]))
    finally:
        srv.shutdown()
    ck.check(f"{chain}: a wrong STS endpoint (an HTTP server answering 404) -> credentials with a hint",
             rc == 1 and rec.get("class") in ("credentials", "connect") and bool(rec.get("hint")),
             "unexpected record", rec)
    # 5. an unreachable STS: nothing listens
    dead = procs.free_port()
    rc, rec = xinvoke_invoke(args, dict(env, AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{dead}",
                                        AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"]))
    ck.check(f"{chain}: an unreachable STS -> connect, retried (3 attempts), hint names STS",
             rc == 1 and rec.get("class") == "connect" and rec.get("attempts") == 3
             and "STS" in (rec.get("hint") or ""), "unexpected record", rec)
    moto.stop()
    gateway_through_moto(ck, chain, args, local)


def gateway_through_moto(ck, chain, args, local):
    """`xinvoke gateway` as a pod runs it, against a third-party STS: the default chain's web
    identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, as IRSA sets them) at moto, then the
    role route's chained AssumeRole (with its external id) at moto, then the Invoke, signed with
    moto's credentials, which the local endpoint does not know. A moto without its IAM checks:
    with them on it answers an unsigned AssumeRoleWithWebIdentity 500 (it looks for an
    Authorization header that call never has)."""
    import boto3  # installed by scripts/e2e.sh with moto[server]
    port = procs.free_port()
    moto_url = f"http://127.0.0.1:{port}"
    moto = procs.Server("moto-web-identity", [args.moto_server, "-H", "127.0.0.1", "-p", str(port)], args.work,
                        env=clean_env(), pgid_file=args.pgid_file)
    ck.servers.append(moto)
    if not ck.check(f"{chain}: a second moto_server starts", moto.wait_for_line(r"Running on", 60, stream="err"),
                    "no 'Running on' line"):
        return
    iam = boto3.client("iam", endpoint_url=moto_url, region_name=REGION,
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    pod_role = iam.create_role(RoleName="xinvoke-web-identity", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "*"},
                                                 "Action": "sts:AssumeRoleWithWebIdentity"}]}))["Role"]["Arn"]
    token = Path(args.work, "pod-token")
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6eGludm9rZTpnYXRld2F5In0.c2ln")
    before = len(http("GET", moto_url + "/moto-api/data.json").get("sts", {}).get("AssumedRole", []))
    env = {"AWS_ENDPOINT_URL": local.url, "AWS_ENDPOINT_URL_STS": moto_url, "AWS_REGION": REGION,
           "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": pod_role,
           "AWS_ROLE_SESSION_NAME": "gateway-pod"}
    gw = procs.Server("gateway-moto", [args.xinvoke, "gateway", "--config", str(Path(args.root, "examples/gateway.yaml")),
                                       "--listen", "127.0.0.1:0"], args.work, env=clean_env(env), pgid_file=args.pgid_file)
    ck.servers.append(gw)
    m = gw.wait_for_line(r"^listening on (http://[0-9.:]+)$", 60)
    if not ck.check(f"{chain}: xinvoke gateway starts on a pod's web identity issued by moto", m,
                    "no 'listening on' line", gw.err_path.read_text(errors="replace")[-2000:]):
        return
    req = urllib.request.Request(m.group(1) + "/target-role", data=b'{"via": "gateway"}', method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, klass = r.status, r.headers.get("x-xinvoke-class")
    except urllib.error.HTTPError as e:
        status, klass = e.code, e.headers.get("x-xinvoke-class")
    sts = http("GET", moto_url + "/moto-api/data.json").get("sts", {}).get("AssumedRole", [])[before:]
    chained = [a for a in sts if a.get("role_arn") == ROLE_ARN]
    pod = [a for a in sts if a.get("role_arn") == pod_role]
    ck.check(f"{chain}: the gateway's role route went web identity -> AssumeRole (external id) at moto, then "
             "invoked with moto's credentials (the local endpoint refuses them: credentials)",
             pod and chained and chained[0].get("external_id") == EXTERNAL_ID
             and status >= 500 and klass == "credentials",
             "gateway through moto", {"status": status, "class": klass, "moto AssumedRole": sts,
                                      "gateway log": gw.err_path.read_text(errors="replace")[-1500:]})
    gw.stop()
    moto.stop()


# ---- main ----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--xinvoke", required=True)
    ap.add_argument("--functions", required=True, help="the directory holding the invoker and target binaries")
    ap.add_argument("--cargo-lambda", required=True)
    ap.add_argument("--moto-server", required=True)
    ap.add_argument("--pgid-file", required=True)
    ap.add_argument("--started", type=float, default=time.time(), help="epoch seconds the run began")
    ap.add_argument("--only", default="", help="comma-separated chains: resource,faults,deadline,role,moto")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    want = lambda c: not only or c in only  # noqa: E731

    procs.become_subreaper()
    # SIGTERM (scripts/e2e.sh's trap, a CI timeout) unwinds through `finally`: servers stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ck = Checks()
    try:
        if want("resource") or want("faults") or want("role") or want("deadline"):
            watch_port_probe = procs.free_port()
            # the scenario must name watch's port before the local endpoint starts, and watch's
            # functions need the local endpoint's URL: pick watch's port first
            scenario = scenario_file(args, watch_port_probe)
            local = Local(ck, args, scenario)
            if ck.check("the local endpoint starts with the upstream scenario", local.url, "no 'listening on' line"):
                fn_env = base_fn_env(local.url)
                if want("resource") or want("faults"):
                    # HTTP requests routed by the example gateway file (the role chain has
                    # none: its HTTP requests are answered 500, naming the variable)
                    env1 = dict(fn_env, XINVOKE_TARGET_ARN=f"{TARGET}:live",
                                XINVOKE_TARGETS=json.dumps({"target": {"arn": TARGET}}),
                                XINVOKE_GATEWAY_CONFIG=str(Path(args.root, "examples/gateway.yaml")),
                                XINVOKE_LOAD_WORKER="true")
                    watch = start_watch(ck, args, "watch-resource", env1, watch_port_probe)
                    if watch:
                        if want("resource"):
                            chain_resource_based(ck, args, local, watch, env1)
                        if want("faults"):
                            chain_faults(ck, args, local, watch)
                        no_secrets(ck, "resource-based", watch.server)
                        watch.stop()
                if want("deadline"):
                    env3 = dict(fn_env, XINVOKE_TARGET_ARN=f"{TARGET}:live", XINVOKE_FUNCTION_TIMEOUT_MS="3000",
                                XINVOKE_DEADLINE_MARGIN_MS="500", XINVOKE_SQS_CONCURRENCY="1")
                    watch = start_watch(ck, args, "watch-deadline", env3, watch_port_probe)
                    if watch:
                        chain_deadline(ck, args, local, watch)
                        watch.stop()
                if want("role"):
                    role = {"role_arn": ROLE_ARN, "external_id": EXTERNAL_ID}
                    env2 = dict(fn_env, XINVOKE_TARGET_ARN=TARGET, XINVOKE_ROLE_ARN=ROLE_ARN,
                                XINVOKE_EXTERNAL_ID=EXTERNAL_ID,
                                XINVOKE_TARGETS=json.dumps({"target": dict(role, arn=TARGET)}))
                    watch = start_watch(ck, args, "watch-role", env2, watch_port_probe)
                    if watch:
                        chain_role(ck, args, local, watch, env2)
                        no_secrets(ck, "role chaining", watch.server)
                        watch.stop()
                if want("moto"):
                    chain_moto(ck, args, local)
        elif want("moto"):
            local = Local(ck, args, scenario_file(args, procs.free_port()))
            if ck.check("the local endpoint starts", local.url, "no 'listening on' line"):
                chain_moto(ck, args, local)
    except (KeyboardInterrupt, SystemExit) as e:
        ck.dumped.update(s.name for s in ck.servers)  # interrupted: no log dump
        ck.check("the e2e run is not interrupted", False, f"{type(e).__name__} {e}".strip())
    except Exception as e:  # a harness failure is a failed check, with the logs
        import traceback
        ck.check("the e2e harness runs to the end", False, f"{type(e).__name__}: {e}", traceback.format_exc())
    finally:
        procs.stop_all(ck.servers)
    print(f"e2e: took {time.time() - args.started:.0f}s", flush=True)
    print(f"e2e: {ck.passed} passed, {ck.failed} failed", flush=True)
    return 0 if ck.failed == 0 else 1


def start_watch(ck, args, name, fn_env, port):
    """Watch on the port the scenario names (a port is never reused by two live watches)."""
    w = Watch(ck, args, name, fn_env, port)
    if not ck.check(f"{name}: cargo lambda watch starts on 127.0.0.1:{port}", w.started(), "no 'starting Runtime server' line"):
        return None
    warm_up(ck, name, w)
    return w


if __name__ == "__main__":
    sys.exit(main())
