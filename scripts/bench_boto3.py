"""boto3 baseline for scripts/bench.sh: THREADS threads invoke the local endpoint until
REQUESTS invokes are done; prints one JSON line (rate, CPU us per invoke of this process)."""
import json
import resource
import sys
import threading
import time

import boto3
from botocore.config import Config

endpoint, threads, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
FUNCTION = "arn:aws:lambda:us-east-1:222222222222:function:target:live"
client = boto3.client(
    "lambda",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="ASIAXINVOKESOURCE001",
    aws_secret_access_key="xinvoke-local-source-secret",
    aws_session_token="IQoJxinvokelocalsourcesessiontoken00000000000001",
    config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=threads),
)
client.invoke(FunctionName=FUNCTION, Payload=b"{}")
lock = threading.Lock()
left = [requests]
ok = [0]


def work():
    while True:
        with lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        r = client.invoke(FunctionName=FUNCTION, Payload=b"{}")
        r["Payload"].read()
        with lock:
            ok[0] += 1


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


c0, t0 = cpu(), time.monotonic()
ts = [threading.Thread(target=work) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
wall, used = time.monotonic() - t0, cpu() - c0
print(json.dumps({"kind": "boto3", "concurrency": threads, "requests": requests, "ok": ok[0],
                  "seconds": round(wall, 3), "rate": round(requests / wall, 1),
                  "cpu_us_per_invoke": round(used * 1e6 / requests, 1)}))
