"""JWT for the reference backend: verify (HS256 secret or RS256 public key), and mint.

Only the configured algorithm is accepted, so `alg: none` and algorithm confusion are
refused by PyJWT itself; a token must carry a whole-number `userId`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from headunit.backend.config import ServerConfig
from headunit.model import is_number, whole_number


class AuthError(Exception):
    """A refused token; the message is safe to send back (it never holds the token)."""


@dataclass(frozen=True)
class Verifier:
    key: str
    algorithm: str  # "HS256" or "RS256"

    def user_id(self, token: object) -> int:
        return self.identify(token)[0]

    def identify(self, token: object) -> tuple[int, float | None]:
        """The token's `userId` and its expiry (seconds since the epoch, if it has one)."""
        if not isinstance(token, str) or not token:
            raise AuthError("Authentication error: no token")
        try:
            claims = jwt.decode(token, self.key, algorithms=[self.algorithm])
        except jwt.ExpiredSignatureError:
            raise AuthError("Authentication error: token expired") from None
        except jwt.PyJWTError:
            raise AuthError("Authentication error: invalid token") from None
        user_id = whole_number(claims.get("userId"))
        if user_id is None:
            raise AuthError("Authentication error: no numeric userId")
        exp = claims.get("exp")
        return user_id, float(exp) if is_number(exp) else None


def verifier_from(config: ServerConfig) -> Verifier:
    """The configured key; a public key wins over a secret when both are set."""
    if config.jwt_public_key_file is not None:
        return Verifier(_read(config.jwt_public_key_file), "RS256")
    if config.jwt_secret_file is not None:
        return Verifier(_read(config.jwt_secret_file), "HS256")
    raise AuthError("server.jwt_secret_file or server.jwt_public_key_file must be set")


def _read(path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AuthError(f"cannot read {path}: {exc.strerror}") from None
    if not value:
        raise AuthError(f"{path} is empty")
    return value


def mint(secret: str, user_id: int, lifetime: float | None = 30 * 86400.0) -> str:
    """A development HS256 token for `user_id`; `lifetime=None` never expires."""
    claims: dict[str, object] = {"userId": user_id, "iat": int(time.time())}
    if lifetime is not None:
        claims["exp"] = int(time.time() + lifetime)
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer_user(verifier: Verifier, header: str) -> int:
    """The user of an `Authorization: Bearer <jwt>` header value; AuthError if none."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError("Authentication error: no bearer token")
    return verifier.user_id(token.strip())
