"""The unit files as systemd reads them: `systemd-analyze verify`, sysusers, the sandbox.

Needs systemd's tools (Debian package `systemd`: systemd-analyze, systemd-sysusers).
ExecStart names /opt/headunit/venv/bin/headunit, which verify insists exists: the tests
verify a copy that points at a stand-in executable, and change nothing else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
INSTALLED_EXEC = "/opt/headunit/venv/bin/headunit"

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="apt-get install systemd"
)


def stand_in(unit: str, tmp_path: Path, installed: str = INSTALLED_EXEC) -> Path:
    """A copy of `unit` whose ExecStart= program is a stand-in that exists here."""
    exe = tmp_path / "bin" / Path(installed).name
    exe.parent.mkdir(exist_ok=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    text = (UNITS / unit).read_text()
    assert installed in text
    copy = tmp_path / unit
    copy.write_text(text.replace(installed, str(exe)))
    return copy


def verify(unit: Path, *options: str, env: dict[str, str] | None = None) -> str:
    """verify's complaints; it exits 0 on unknown keys too, so any output is a failure."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *options, str(unit)],
        capture_output=True,
        text=True,
        env=env,
    )
    return f"exit {result.returncode}: {result.stdout}{result.stderr}".strip()


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_system_unit_verifies(tmp_path: Path) -> None:
    assert verify(stand_in("headunit.service", tmp_path)) == "exit 0:"


@pytest.mark.parametrize(
    ("unit", "program"),
    [("headunit-user.service", INSTALLED_EXEC), ("mpris-proxy.service", "/usr/bin/mpris-proxy")],
)
def test_user_units_verify(unit: str, program: str, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    assert verify(stand_in(unit, tmp_path, program), "--user", env=env) == "exit 0:"


@pytest.mark.parametrize("unit", ["headunit.service", "headunit-user.service"])
def test_supervised_and_quick_to_stop(unit: str) -> None:
    d = directives(unit)
    assert d["Type"] == ["notify"]
    assert d["NotifyAccess"] == ["main"]
    assert d["WatchdogSec"] == ["10"]
    assert d["Restart"] == ["on-failure"]
    assert d["RestartPreventExitStatus"] == ["78"]  # a bad config is not retried
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert int(d["TimeoutStopSec"][0]) <= 5
    assert "DynamicUser" not in d


def test_system_unit_runs_as_its_user_in_a_sandbox() -> None:
    d = directives("headunit.service")
    assert d["User"] == ["headunit"]
    assert set(d["SupplementaryGroups"][0].split()) == {"audio", "input"}
    assert d["StateDirectory"] == d["ConfigurationDirectory"] == ["headunit"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["PrivateTmp"] == d["NoNewPrivileges"] == d["ProtectHome"] == ["yes"]
    assert d["DeviceAllow"] == ["char-alsa rw", "char-input r"]
    assert "PrivateDevices" not in d  # it would hide /dev/snd
    assert "MemoryDenyWriteExecute" not in d  # it breaks ctypes callbacks (python-mpv)


def test_system_unit_exposure_is_low(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=yes",
            str(stand_in("headunit.service", tmp_path)),
        ],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) < 3.0  # systemd calls below 4 "OK"; it was 1.9


def test_sysusers_creates_the_user_in_audio_and_input(tmp_path: Path) -> None:
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("apt-get install systemd")
    (tmp_path / "etc").mkdir()
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "headunit.sysusers")],
        check=True,
        capture_output=True,
    )
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(
        r"^headunit:x:\d+:\d+:[^:]*:/var/lib/headunit:/usr/sbin/nologin$", passwd, re.M
    )
    groups = (tmp_path / "etc/group").read_text()
    assert re.search(r"^audio:x:\d+:headunit$", groups, re.M)
    assert re.search(r"^input:x:\d+:headunit$", groups, re.M)
