"""scripts/install, staged into a DESTDIR: the files it writes, their modes, and that a
second run changes nothing. The live-system commands are only printed there."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from support import sign_token

from headunit.config import load
from headunit.link.token import TokenSource

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install"


def install(destdir: Path, *options: str) -> str:
    result = subprocess.run(
        ["bash", str(INSTALL), "--destdir", str(destdir), "--no-venv", *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)


def test_shellcheck_is_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("apt-get install shellcheck")
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="apt-get install systemd")
def test_system_mode_stages_everything(tmp_path: Path) -> None:
    out = install(tmp_path)
    unit = tmp_path / "etc/systemd/system/headunit.service"
    assert unit.read_bytes() == (REPO / "systemd/headunit.service").read_bytes()
    assert (tmp_path / "etc/dbus-1/system.d/org.mpris.MediaPlayer2.headunit.conf").exists()
    assert (tmp_path / "etc/sysusers.d/headunit.conf").exists()
    assert "headunit:x:" in (tmp_path / "etc/passwd").read_text()
    config = load(tmp_path / "etc/headunit/config.toml")  # what the service will read
    assert config.mpris.bus == "system"
    assert str(config.state.dir) == "/var/lib/headunit"
    assert mode(tmp_path / "etc/headunit/token") == 0o640
    assert mode(tmp_path / "etc/headunit/config.toml") == 0o644
    # Nothing on the live system was touched; the commands are listed instead.
    assert "would run: systemctl enable headunit.service" in out
    assert "would run: chown root:headunit /etc/headunit/token" in out


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="apt-get install systemd")
def test_the_daemon_does_not_warn_about_the_token_the_installer_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install(tmp_path / "root")
    token = tmp_path / "root/etc/headunit/token"
    token.write_text(sign_token({"userId": 7}))
    # What `chown root:headunit` does on the car, for a daemon that runs in this group.
    os.chown(token, -1, os.getegid())
    assert TokenSource(token, "").read().user_id == 7
    assert not [r for r in caplog.records if "token file" in r.getMessage()]


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="apt-get install systemd")
def test_second_run_keeps_what_the_user_edited(tmp_path: Path) -> None:
    install(tmp_path)
    config = tmp_path / "etc/headunit/config.toml"
    token = tmp_path / "etc/headunit/token"
    config.write_text('[media]\npaths = ["/media/usb"]\n')
    token.write_text("the-secret")
    token.chmod(0o644)  # loosened by hand
    out = install(tmp_path)
    assert "keeping /etc/headunit/config.toml" in out
    assert "installed /etc/systemd" not in out  # unchanged units are not rewritten
    assert config.read_text() == '[media]\npaths = ["/media/usb"]\n'
    assert token.read_text() == "the-secret"
    assert mode(token) == 0o640  # tightened again


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="apt-get install systemd")
def test_user_mode_uses_the_session_bus_and_lingering(tmp_path: Path) -> None:
    out = install(tmp_path, "--mode", "user", "--no-start")
    unit = tmp_path / "etc/systemd/user/headunit.service"
    assert unit.read_bytes() == (REPO / "systemd/headunit-user.service").read_bytes()
    assert not (tmp_path / "etc/systemd/system/headunit.service").exists()
    assert load(tmp_path / "etc/headunit/config.toml").mpris.bus == "session"
    assert "would run: loginctl enable-linger headunit" in out
    assert "restart" not in out  # --no-start


def test_bad_options_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--destdir", str(tmp_path), "--mode", "both"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--mode is system or user" in result.stderr
