"""`headunit doctor`: what is wrong in the car, one line per check, before anyone opens a log.

Each check says ok, warn or fail and, when not ok, the fix in words; the exit status is 0
when nothing fails. Checks run side by side, each network step bounded, so the whole
answers within a few seconds. No token is ever printed: only its claims.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Sequence

from headunit.doctor import car, host
from headunit.doctor.report import Finding, as_json, as_text, failed


async def diagnose(config_path: str | None) -> list[Finding]:
    """Every check, in a fixed order; the ones that need a configuration only with one."""
    found, config = car.config(config_path)
    player = config.player if config else None
    probe = await host.start_probe(player)
    # Only now: the network libraries take a while to import, which the probe overlaps.
    from headunit.doctor import links

    parts: list[Awaitable[Sequence[Finding]]] = [_one(host.python())]
    parts.append(host.libmpv_and_sound(probe, player))
    if config is not None:
        parts += [
            links.bus(config.mpris),
            asyncio.to_thread(car.media_paths, config.media.paths),
            links.backend(config.backend),
            _one(*car.keys(config.keys)),
        ]
    parts += [_many(host.systemd()), _one(host.clock())]
    results = await asyncio.gather(*parts)
    return [found, *(finding for result in results for finding in result)]


async def _one(*findings: Finding) -> Sequence[Finding]:
    return findings


async def _many(finding: Awaitable[Finding]) -> Sequence[Finding]:
    return [await finding]


def main(args: argparse.Namespace) -> int:
    findings = asyncio.run(diagnose(args.config))
    print(as_json(findings) if args.json else as_text(findings))
    return 1 if failed(findings) else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("doctor", help="check the set-up: one line per check, the fix")
    p.add_argument("--config", metavar="PATH", help="config file (default: see README)")
    p.add_argument("--json", action="store_true", help="the findings as JSON")
    p.set_defaults(func=main)
