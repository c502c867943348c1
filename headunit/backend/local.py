"""A throw-away reference backend on loopback, for `headunit demo` and first tries.

A fresh random secret, a token for one user in a 0600 file, a `curl` line that reads
the token from that file, and the phone page's sign-in link (a loopback token for one
day, printed for the person trying it).
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from headunit.backend.auth import Verifier, mint
from headunit.backend.phone_link import page_url
from headunit.backend.server import Backend, Running, serve


@dataclass(frozen=True)
class LocalBackend:
    running: Running
    token_file: Path
    user_id: int

    @property
    def url(self) -> str:
        return self.running.url

    def curl(self, command: str = "next") -> str:
        """A shell line that sends `command` through the REST route, as a phone would."""
        auth = f'"Authorization: Bearer $(cat {shlex.quote(str(self.token_file))})"'
        body = shlex.quote(f'{{"command": "{command}", "value": null}}')
        return (
            f"curl -s -X POST -H {auth} -H 'Content-Type: application/json' "
            f"-d {body} {self.url}/api/carplay/control"
        )

    def page_url(self) -> str:
        """The phone page, signed in through the URL fragment."""
        return page_url(self.url, self.token_file.read_text().strip())

    async def stop(self) -> None:
        await self.running.stop()


def _write_token(directory: Path, token: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "token"
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    return token_file


async def start_local(directory: Path, user_id: int = 1) -> LocalBackend:
    """Serve on 127.0.0.1 (a free port) with a token for `user_id` in `directory`."""
    secret = secrets.token_urlsafe(32)
    token_file = _write_token(directory, mint(secret, user_id, lifetime=86400))
    running = await serve(Backend(Verifier(secret, "HS256")), "127.0.0.1", 0)
    return LocalBackend(running, token_file, user_id)
