"""Several backend processes behind one port (`server.workers`).

Each worker is a whole backend in a process of its own, listening on the same port with
SO_REUSEPORT, so the kernel spreads new connections across them (and across the cores);
the rooms and the per-user cache are shared through Redis (`server.redis_url`). This
process only starts the workers, starts again one that dies (its clients reconnect and
land on the others meanwhile), and stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

READY_SECONDS = 30.0  # a worker that has not bound the port by then failed to start
QUICK_DEATH = 2.0  # seconds: a worker dying this soon after its start did not start
QUICK_DEATHS = 5  # in a row: the workers cannot start, so stop instead of looping
STOP_SECONDS = 5.0  # a worker still there this long after SIGTERM is killed
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL = 0.5  # seconds between looks at the flag a signal sets

# What a worker runs: serve on the port, send the bound port down the pipe, return when
# told to stop.
WorkerMain = Callable[[int, Connection], None]


@dataclass
class _Worker:
    number: int
    process: BaseProcess
    started: float = field(default_factory=time.monotonic)


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket holding the port in the workers' SO_REUSEPORT group without listening
    (so it never takes a connection): port 0 becomes one the workers can all bind."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class Supervisor:
    def __init__(self, count: int, main: WorkerMain, port: int) -> None:
        self._count = count
        self._main = main
        self._port = port
        self._context = multiprocessing.get_context("fork")  # the parent runs no loop yet
        self._workers: dict[int, _Worker] = {}
        self._stopping = False
        self.restarts = 0

    def run(self, ready: Callable[[], None]) -> int:
        """Start the workers, call `ready` once all listen, keep them running until a
        signal; 0 on a requested stop, 1 when the workers cannot start."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        try:
            if not all(self._start(number) for number in range(self._count)):
                return 1
            ready()
            return self._watch()
        finally:
            self._stop_all()

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _stop_requested(self) -> bool:  # a method: the flag changes under a signal
        return self._stopping

    def _start(self, number: int) -> bool:
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(self._main, self._port, send, os.getpid()),
            name=f"worker-{number}",
        )
        process.start()
        send.close()
        self._workers[number] = _Worker(number, process)
        with receive, contextlib.suppress(EOFError):  # EOF: it died before listening
            if receive.poll(READY_SECONDS) and receive.recv() == self._port:
                return True
        log.error("backend worker %d did not start listening on port %d", number, self._port)
        return False

    def _watch(self) -> int:
        quick_deaths = 0
        while not self._stop_requested():
            sentinels = {w.process.sentinel: w for w in self._workers.values()}
            for sentinel in multiprocessing.connection.wait(list(sentinels), POLL):
                worker = sentinels[sentinel]  # type: ignore[index]
                worker.process.join()
                if self._stop_requested():
                    break
                quick = time.monotonic() - worker.started < QUICK_DEATH
                quick_deaths = quick_deaths + 1 if quick else 0
                log.warning(
                    "backend worker %d (pid %s) exited with %s; starting it again",
                    worker.number,
                    worker.process.pid,
                    worker.process.exitcode,
                )
                if quick_deaths >= QUICK_DEATHS or not self._start(worker.number):
                    log.error("backend workers keep failing to start: stopping")
                    return 1
                self.restarts += 1
        return 0

    def _stop_all(self) -> None:
        alive = [w.process for w in self._workers.values() if w.process.is_alive()]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in alive:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def _worker_main(main: WorkerMain, port: int, ready: Connection, parent: int) -> None:
    # The supervisor's handlers came along with the fork; the worker's loop sets its own.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    _die_with(parent)
    with ready:
        main(port, ready)


def _die_with(parent: int) -> None:
    """A supervisor killed outright (SIGKILL, a crash) takes its workers along, so none
    is left holding the port: Linux's parent-death signal, set through libc."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)
