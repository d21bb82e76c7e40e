"""Servers for the end-to-end chains: started on free loopback ports in their own process
groups, logs kept in the work directory, and every process they spawned (cargo lambda watch
starts each function in a process group of its own) stopped at the end, also on failure.

This process makes itself a child subreaper, so a function process orphaned by its watch
server is re-parented here and still found and stopped by `stop_all`.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: process groups still cover the common case


def free_port():
    """A free loopback port (bound and released: a small race, fine on a test machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid):
    """Every descendant pid of `pid`, read from /proc."""
    parents = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in parents.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class Server:
    """One background process with its log files."""

    def __init__(self, name, argv, logdir, env=None, cwd=None, pgid_file=None, out_path=None):
        """`out_path`: append stdout to this file (another server's) instead of NAME.out."""
        self.name = name
        self.out_path = Path(out_path) if out_path else Path(logdir) / f"{name}.out"
        self.err_path = Path(logdir) / f"{name}.err"
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=open(self.out_path, "ab" if out_path else "wb"),
            stderr=open(self.err_path, "wb"),
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        if pgid_file:
            with open(pgid_file, "a") as f:
                f.write(f"{self.proc.pid}\n")

    def alive(self):
        return self.proc.poll() is None

    def wait_for_line(self, pattern, timeout_s, stream="out"):
        """The first match of `pattern` in the server's stdout (or stderr), or None."""
        path = self.out_path if stream == "out" else self.err_path
        end = time.monotonic() + timeout_s
        rx = re.compile(pattern, re.M)
        while time.monotonic() < end:
            m = rx.search(path.read_text(errors="replace"))
            if m:
                return m
            if not self.alive():
                return None
            time.sleep(0.1)
        return None

    def log_tail(self, lines=80):
        text = []
        for p in (self.out_path, self.err_path):
            body = p.read_text(errors="replace").splitlines()[-lines:]
            text.append(f"--- {self.name}: {p.name} (last {len(body)} lines)\n" + "\n".join(body))
        return "\n".join(text)

    def stop(self, grace_s=3.0):
        """SIGINT first (watch stops its functions on Ctrl-C), then SIGTERM/SIGKILL to the
        whole tree, including function processes in their own process groups."""
        if self.proc.poll() is not None and not children_of(self.proc.pid):
            return
        tree = children_of(self.proc.pid)
        groups = {self.proc.pid}
        for pid in tree:
            try:
                groups.add(os.getpgid(pid))
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except OSError:
            pass
        end = time.monotonic() + grace_s
        while time.monotonic() < end and self.proc.poll() is None:
            time.sleep(0.1)
        tree = set(tree) | set(children_of(self.proc.pid))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for g in groups:
                try:
                    os.killpg(g, sig)
                except OSError:
                    pass
            for pid in tree:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            if sig == signal.SIGTERM:
                time.sleep(0.3)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        reap()


def reap():
    """Collect exited children re-parented to us (we are their subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_all(servers):
    for s in reversed(servers):
        s.stop()
    # anything left under us (orphans re-parented to the subreaper)
    for pid in children_of(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    reap()
