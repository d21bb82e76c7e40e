"""Run a built Lambda bootstrap (the release build `sam build` packages) against a minimal
Runtime API and check that a handler panic is answered as a function error with the panic's
message and that the runtime then serves the next event: the release profile must unwind
(Cargo.toml), or the panic kills the runtime (Runtime.ExitError on AWS).

    python tests/template/panic_check.py path/to/TargetFunction/bootstrap

Prints `ok ...` or `FAIL ...`; exits non-zero on failure.
"""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENTS = [("req-1", {"panic": "boom from panic_check"}), ("req-2", {"after": 1})]
answers = {}
done = threading.Event()


class RuntimeApi(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next" or not EVENTS:
            time.sleep(30)
            return
        rid, event = EVENTS.pop(0)
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("lambda-runtime-aws-request-id", rid)
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 30000))
        self.send_header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:222222222222:function:target")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        parts = self.path.rstrip("/").split("/")
        answers[parts[-2] if len(parts) > 2 else self.path] = (parts[-1], body)
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()
        if len(answers) >= 2:
            done.set()

    def log_message(self, *args):
        pass


def main():
    bootstrap = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_port}",
           "AWS_LAMBDA_FUNCTION_NAME": "target", "AWS_LAMBDA_FUNCTION_VERSION": "1",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_REGION": "us-east-1"}
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done.wait(20)
    alive = proc.poll() is None
    proc.kill()
    log = proc.communicate()[0].decode(errors="replace")
    server.shutdown()
    kind, err = answers.get("req-1", (None, None))
    ok = (kind == "error" and isinstance(err, dict)
          and err.get("errorMessage") == "Lambda panicked: boom from panic_check"
          and answers.get("req-2") == ("response", {"after": 1}) and alive)
    if ok:
        print("  ok  a panic is a function error with its message, and the runtime serves the next event")
        return 0
    print(f"  FAIL a handler panic: answers {answers}, runtime alive {alive}\n{log[-2000:]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
