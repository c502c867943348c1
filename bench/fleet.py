"""A fleet against the reference backend: N users, each a car socket and a phone socket,
M commands a second, timed over the full round trip phone -> backend -> car -> backend
-> phone (the car answers each command with a state update).

    .venv/bin/python bench/fleet.py [--workers 2] [--users 1000] [--rates 200,400,...]
                                    [--seconds 10] [--backend headunit|node] [--no-deflate]

The backend runs as its own process(es) (`headunit backend`, or with `--backend node`
the original backend's shape in bench/fleet/node-backend.js); the load is Node's
socket.io-client in bench/fleet/load.js (`npm install` in bench/fleet first), because
one Python process cannot drive 2000 sockets at thousands of commands a second on a
small machine without being the bottleneck itself: the generator's own CPU and loop
lag are printed with every step. The rates are stepped up until p99 passes --max-p99
(100 ms) or a command is lost; the highest step that held is the "highest rate held".
Server CPU and RSS are read from /proc for the backend and every process under it.
Loopback only, bounded: every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "fleet"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], within: float = 30.0) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the process on port {port} exited with {proc.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {within} s")


def tree(root: int) -> list[int]:
    """`root` and every process under it (the workers of a supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[0]


@contextlib.contextmanager
def started(argv: list[str], log: Path, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def redis(folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("more than one worker needs redis-server")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(folder)]  # fmt: skip
    with started(argv, folder / "redis.log") as proc:
        wait_listening(port, proc)
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def backend(args: argparse.Namespace, folder: Path, secret: str) -> Iterator[tuple[int, int]]:
    """The backend under test: (its pid, its port)."""
    port = free_port()
    if args.backend == "node":
        argv = ["node", str(NODE_DIR / "node-backend.js"), str(port), secret]
        with started(argv, folder / "backend.log") as proc:
            wait_listening(port, proc)
            yield proc.pid, port
        return
    secret_file = folder / "secret"
    secret_file.write_text(secret)
    with contextlib.ExitStack() as stack:
        lines = [f"port = {port}", f'jwt_secret_file = "{secret_file}"',
                 f"workers = {args.workers}"]  # fmt: skip
        if args.workers > 1 or args.redis:
            lines.append(f'redis_url = "{stack.enter_context(redis(folder))}"')
        if args.compress:
            lines.append("compress = true")
        config = folder / "backend.toml"
        config.write_text("[server]\n" + "\n".join(lines) + '\n[log]\nlevel = "warning"\n')
        argv = [args.python, "-m", "headunit", "backend", "--config", str(config)]
        # cwd: the tree on PYTHONPATH (an A/B copy) wins over the one a `-m` run starts in
        proc = stack.enter_context(started(argv, folder / "backend.log", cwd=folder))
        wait_listening(port, proc)
        time.sleep(1.0)  # every worker up (they bind the same port one by one)
        yield proc.pid, port


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    if not (NODE_DIR / "node_modules").is_dir():
        raise SystemExit(f"the load generator needs its packages: cd {NODE_DIR} && npm install")
    secret = secrets.token_urlsafe(32)
    results: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="fleet-") as tmp,
        backend(args, Path(tmp), secret) as (
            pid,
            port,
        ),
    ):
        pids = tree(pid)
        rss0 = rss_bytes(pids)
        argv = ["node", str(NODE_DIR / "load.js"), "--url", f"http://127.0.0.1:{port}",
                "--secret", secret, "--users", str(args.users), "--rates", args.rates,
                "--seconds", str(args.seconds), "--grace", str(args.grace),
                "--max-p99", str(args.max_p99)]  # fmt: skip
        argv += ["--no-deflate"] if args.no_deflate else []
        argv += ["--keep-going"] if args.keep_going else []
        gen = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        try:
            assert gen.stdout is not None
            cpu0 = wall0 = 0.0
            for line in gen.stdout:
                event = json.loads(line)
                if event["event"] == "connected":
                    pids = tree(pid)
                    rss = rss_bytes(pids)
                    print(f"# {event['sockets']} sockets connected in {event['seconds']:.1f} s; "
                          f"server RSS {rss / 2**20:.0f} MiB "
                          f"({(rss - rss0) / event['sockets'] / 1024:.1f} KiB per socket), "
                          f"{len(pids)} process(es)", flush=True)  # fmt: skip
                    base = {"rss_mib": rss / 2**20,
                            "kib_per_socket": (rss - rss0) / event["sockets"] / 1024}  # fmt: skip
                elif event["event"] == "step":
                    cpu0, wall0 = cpu_seconds(pids), time.monotonic()
                elif event["event"] == "result":
                    spent = cpu_seconds(pids) - cpu0
                    cpu = spent / (time.monotonic() - wall0)
                    per_command = spent / max(1, event["sent"]) * 1e6
                    result = {**event, **base, "server_cpu": cpu, "us_per_command": per_command,
                              "load": load()}  # fmt: skip
                    results.append(result)
                    print(row(result), flush=True)
                elif event["event"] == "error":
                    raise SystemExit(f"load generator: {event['message']}")
            gen.wait(30)
        finally:
            if gen.poll() is None:
                gen.kill()
                gen.wait()
    return results


def ms(value: object) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def row(r: dict[str, object]) -> str:
    return (
        f"{r['rate']:>5}/s  p50 {ms(r['p50'])}  p99 {ms(r['p99'])}  max {ms(r['max'])}  "
        f"lost {r['lost']}/{r['sent']}  server CPU {r['server_cpu']:.0%} of a core, "
        f"{r['us_per_command']:.0f} us a command  "
        f"generator CPU {r['gen_cpu']:.0%}, loop lag p99 {r['gen_lag_p99']:.1f} ms  "
        f"load {r['load']}"
    )


def held(results: list[dict[str, object]], max_p99: float) -> object:
    fine = [r["rate"] for r in results if r["lost"] == 0 and r["p99"] is not None
            and float(r["p99"]) <= max_p99]  # type: ignore[arg-type]  # fmt: skip
    return max(fine) if fine else None  # type: ignore[type-var]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["headunit", "node"], default="headunit")
    parser.add_argument("--workers", type=int, default=1, help="server.workers (headunit)")
    parser.add_argument("--redis", action="store_true", help="share through Redis with 1 worker")
    parser.add_argument("--compress", action="store_true", help="server.compress = true")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rates", default="200,400,800,1600,3200,6400")
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate step")
    parser.add_argument("--max-p99", type=float, default=100.0, help="ms: the step that fails")
    parser.add_argument("--grace", type=float, default=2.0, help="s for the last answers")
    parser.add_argument("--keep-going", action="store_true", help="every step, even past p99")
    parser.add_argument("--no-deflate", action="store_true", help="the client offers no deflate")
    parser.add_argument("--python", default=sys.executable, help="the backend's interpreter")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    # A SIGTERM (`timeout`) unwinds like an exception, so the processes started are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.backend == "node" and shutil.which("node") is None:
        print("node is not installed: nothing to compare with", file=sys.stderr)
        return 1
    label = "node" if args.backend == "node" else f"headunit, {args.workers} worker(s)"
    print(f"# {label}; {args.users} users; load before {load()}", flush=True)
    results = run(args)
    print(f"# highest rate held (p99 <= {args.max_p99:g} ms, nothing lost): "
          f"{held(results, args.max_p99)}/s", flush=True)  # fmt: skip
    if args.json:
        print(json.dumps({"label": label, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
