"""Fixtures for `headunit doctor`: it runs as a user would run it (its own process),
on a config written per test, with a private bus, real media and a real backend."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import TEST_SECRET, write_config

from headunit.backend.auth import Verifier
from headunit.backend.server import Backend, Running, serve


@dataclass
class Report:
    status: int
    checks: list[dict[str, str]]
    output: str  # stdout and stderr, to look for what must never be printed

    def of(self, check: str) -> list[dict[str, str]]:
        return [c for c in self.checks if c["check"] == check]

    def level(self, check: str) -> str:
        levels = {c["level"] for c in self.of(check)}
        assert len(levels) == 1, f"{check}: {self.of(check)}"
        return levels.pop()

    def text(self, check: str) -> str:
        return " | ".join(f"{c['text']} -> {c['fix']}" for c in self.of(check))

    def failed(self) -> list[str]:
        return [c["check"] for c in self.checks if c["level"] == "fail"]


Doctor = Callable[..., Any]


@pytest.fixture
def doctor(tmp_path: Path) -> Doctor:
    """`await doctor(sections, env=...)`: write the config, run `headunit doctor --json`."""

    async def run(sections: dict[str, dict[str, Any]], **env: str) -> Report:
        config = write_config(tmp_path / "doctor.toml", sections)
        environment = {**os.environ, "HOME": str(tmp_path), **env}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "headunit", "doctor", "--json", "--config", str(config),
            env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        report = json.loads(out)
        assert report["ok"] == (proc.returncode == 0)
        return Report(proc.returncode, report["checks"], out.decode() + err.decode())

    return run


@pytest.fixture
async def backend() -> AsyncIterator[Running]:
    """The reference backend on 127.0.0.1, verifying the tests' HS256 tokens."""
    running = await serve(Backend(Verifier(TEST_SECRET, "HS256")))
    yield running
    await asyncio.wait_for(running.stop(), 5)


def days(n: float) -> float:
    return time.time() + n * 86400
