"""The reference backend (`headunit backend`) and development tokens (`headunit token`)."""

from __future__ import annotations

import argparse
import sys

from headunit.backend.config import ServerSettings, resolve
from headunit.config import EX_CONFIG, ConfigError

# The server (Socket.IO, aiohttp, PyJWT) is imported by the verbs that run it, not here:
# every `headunit` command registers these verbs, and the daemon must not pay for them.
__all__ = ["register", "run_backend", "run_token"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backend = subparsers.add_parser(
        "backend", help="run the reference backend (Socket.IO + REST) for self-hosting"
    )
    backend.add_argument("--config", metavar="PATH", help="config file (the [server] section)")
    backend.add_argument("--host", help="address to listen on (default: server.host)")
    backend.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    backend.set_defaults(func=run_backend)
    token = subparsers.add_parser(
        "token", help="mint a development token from server.jwt_secret_file"
    )
    token.add_argument("--config", metavar="PATH", help="config file (server.jwt_secret_file)")
    token.add_argument("--user", type=int, required=True, help="the userId claim")
    token.add_argument("--days", type=float, default=30.0, help="lifetime (0: never expires)")
    token.add_argument(
        "--qr", action="store_true", help="print the phone page's sign-in link and its QR code"
    )
    token.add_argument(
        "--url", help="the page's address for --qr (default: http://server.host:server.port/)"
    )
    token.set_defaults(func=run_token)


def _config(args: argparse.Namespace) -> ServerSettings | None:
    try:
        return resolve(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return None


def run_token(args: argparse.Namespace) -> int:
    config = _config(args)
    if config is None:
        return EX_CONFIG
    path = config.server.jwt_secret_file
    if path is None:
        print("headunit: server.jwt_secret_file: needed to mint a token", file=sys.stderr)
        return EX_CONFIG
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        print(f"headunit: server.jwt_secret_file: {path}: {exc.strerror}", file=sys.stderr)
        return EX_CONFIG
    from headunit.backend.auth import mint

    lifetime = args.days * 86400 if args.days > 0 else None
    token = mint(secret, args.user, lifetime)
    if not args.qr:
        print(token)
        return 0
    try:
        from headunit.backend.phone_link import page_url, qr_text

        base = args.url or f"http://{config.server.host}:{config.server.port}/"
        link = page_url(base, token)
        print(f"{qr_text(link)}\nOpen on the phone: {link}")
    except ImportError:
        print("headunit: --qr needs the backend extra (segno)", file=sys.stderr)
        return 1
    return 0


def run_backend(args: argparse.Namespace) -> int:
    config = _config(args)
    if config is None:
        return EX_CONFIG
    from headunit.backend.launch import launch

    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    return launch(config, host, port)
