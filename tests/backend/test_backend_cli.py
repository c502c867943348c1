"""`headunit token`, `headunit backend`, and the loopback backend the demo starts."""

from __future__ import annotations

import argparse
import asyncio
import stat
import subprocess
import sys
import time

import jwt
import pytest
import socketio
from support import async_wait_for

from headunit.backend import register
from headunit.backend.local import start_local
from headunit.config import EX_CONFIG


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="headunit")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_token_mints_from_the_configured_secret(tmp_path, capsys):
    secret = tmp_path / "secret"
    secret.write_text("a-development-secret-of-32-bytes!!\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\njwt_secret_file = "{secret}"\n')
    args = parse(["token", "--config", str(config), "--user", "7", "--days", "1"])
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, "a-development-secret-of-32-bytes!!", algorithms=["HS256"])
    assert claims["userId"] == 7
    assert 86000 < claims["exp"] - time.time() <= 86400


def test_token_without_a_secret_names_the_key(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[server]\n")
    args = parse(["token", "--config", str(config), "--user", "7"])
    assert args.func(args) == EX_CONFIG
    assert "server.jwt_secret_file" in capsys.readouterr().err


def test_backend_without_a_key_names_the_keys(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text("[server]\n")
    args = parse(["backend", "--config", str(config)])
    assert args.func(args) == EX_CONFIG
    assert "server.jwt_secret_file or server.jwt_public_key_file" in capsys.readouterr().err


def test_the_backend_reads_its_section_of_a_file_the_car_shares(tmp_path, capsys):
    secret = tmp_path / "secret"
    secret.write_text("a-development-secret-of-32-bytes!!\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[media]\npaths = ["~/Music"]\n[backend]\nurl = "http://127.0.0.1:3000"\n'
        f'[server]\njwt_secret_file = "{secret}"\n[log]\nlevel = "warning"\n'
    )
    args = parse(["token", "--config", str(config), "--user", "7"])
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    assert jwt.decode(token, "a-development-secret-of-32-bytes!!", algorithms=["HS256"])


def test_a_bad_server_key_is_named_and_exits_78(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[server]\nport = "http"\n')
    args = parse(["backend", "--config", str(config)])
    assert args.func(args) == EX_CONFIG
    assert 'server.port: expected an integer 0..65535, got "http"' in capsys.readouterr().err


def test_the_backend_imports_nothing_of_the_cars_player():
    code = (
        "import sys, headunit.backend, headunit.backend.server, headunit.backend.local; "
        "car = ('mpv', 'headunit.player', 'headunit.daemon'); "
        "print(sorted(m for m in sys.modules if m in car))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_local_backend_prints_a_curl_that_works(tmp_path):
    local = await start_local(tmp_path / "demo", user_id=3)
    car = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    got: list[object] = []
    car.on("carplay_command", got.append)
    try:
        token = local.token_file.read_text().strip()
        assert stat.S_IMODE(local.token_file.stat().st_mode) == 0o600
        await car.connect(local.url, auth={"token": token}, transports=["websocket"])
        line = local.curl("next")
        assert token not in line
        proc = await asyncio.create_subprocess_shell(line, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert b'"success": true' in out
        await async_wait_for(lambda: got, within=3.0)
        assert got == [{"command": "next"}]
    finally:
        await car.disconnect()
        await local.stop()


def test_token_qr_prints_the_pages_sign_in_link(tmp_path, capsys):
    pytest.importorskip("segno", reason="the backend extra is not installed")
    secret = tmp_path / "secret"
    secret.write_text("a-development-secret-of-32-bytes!!\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = 3123\njwt_secret_file = "{secret}"\n')
    args = parse(["token", "--config", str(config), "--user", "7", "--qr"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    link = out.strip().splitlines()[-1].removeprefix("Open on the phone: ")
    base, _, token = link.partition("/#token=")
    assert base == "http://127.0.0.1:3123"
    claims = jwt.decode(token, "a-development-secret-of-32-bytes!!", algorithms=["HS256"])
    assert claims["userId"] == 7
    assert "\u2588" in out or "\u2580" in out  # the QR code, in block characters
