"""What a check finds: one line each, ok, warn or fail, with the fix in words."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str  # "config", "sound", "media", ...
    level: Level
    text: str  # what was found
    fix: str = ""  # what to do about it, in words

    def line(self) -> str:
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.level:<4}  {self.check:<8} {self.text}{fix}"


def ok(check: str, text: str) -> Finding:
    return Finding(check, Level.OK, text)


def warn(check: str, text: str, fix: str = "") -> Finding:
    return Finding(check, Level.WARN, text, fix)


def fail(check: str, text: str, fix: str = "") -> Finding:
    return Finding(check, Level.FAIL, text, fix)


def failed(findings: Sequence[Finding]) -> bool:
    return any(f.level is Level.FAIL for f in findings)


def as_text(findings: Sequence[Finding]) -> str:
    counts = {level: sum(f.level is level for f in findings) for level in Level}
    summary = ", ".join(f"{n} {level}" for level, n in counts.items())
    return "\n".join([*(f.line() for f in findings), f"headunit doctor: {summary}"])


def as_json(findings: Sequence[Finding]) -> str:
    checks = [
        {"check": f.check, "level": str(f.level), "text": f.text, "fix": f.fix} for f in findings
    ]
    return json.dumps({"ok": not failed(findings), "checks": checks}, indent=2)
