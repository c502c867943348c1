"""The `headunit` command: run the daemon, check a config, the demo, and the verbs
that other modules register (control verbs over MPRIS, the reference backend)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from headunit import __version__, backend, ctl, demo, doctor, logs
from headunit.config import EX_CONFIG, Config, ConfigError, find, load, resolve
from headunit.player.libmpv import UnsupportedLibmpv


def _load_or_exit(path: str | None) -> Config | int:
    try:
        return resolve(path)
    except ConfigError as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return EX_CONFIG


def run(args: argparse.Namespace) -> int:
    config = _load_or_exit(args.config)
    if isinstance(config, int):
        return config
    logs.setup(config.log.level)
    from headunit import daemon  # the daemon's imports (mpv, D-Bus) only where needed

    return asyncio.run(daemon.run(config))


def check_config(args: argparse.Namespace) -> int:
    path = find(args.path)
    if path is None:
        print("no configuration file found; the defaults apply")
        return 0
    try:
        load(path)
    except ConfigError as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return EX_CONFIG
    print(f"{path}: ok")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="headunit", description=__doc__)
    top.add_argument("--version", action="version", version=f"headunit {__version__}")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser("run", help="run the daemon in the foreground (logs to stderr)")
    p.add_argument("--config", metavar="PATH", help="config file (default: see README)")
    p.set_defaults(func=run)
    p = verbs.add_parser("check-config", help="validate a config file; exit 78 if bad")
    p.add_argument("path", nargs="?", metavar="PATH")
    p.set_defaults(func=check_config)
    demo.register(verbs)
    doctor.register(verbs)
    ctl.register(verbs)
    backend.register(verbs)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    # The daemon and the demo both start a player: only then can mpv judge its options
    # ([player] mpv_options) and can the library be checked.
    except ConfigError as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return EX_CONFIG
    except UnsupportedLibmpv as exc:
        print(f"headunit: {exc}", file=sys.stderr)
        return ctl.EX_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
