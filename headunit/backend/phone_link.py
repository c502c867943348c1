"""The link that signs a phone in: the page's URL with the token in its fragment, and a
QR code of it for the phone's camera (segno, from the backend extra).

The fragment never reaches a server (nor its log); the page moves the token to its
storage and clears the address bar. The link is a credential: it is printed for the
person at the terminal, never logged.
"""

from __future__ import annotations

import io
from urllib.parse import quote


def page_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/#token={quote(token, safe='')}"


def qr_text(url: str) -> str:
    """A QR code of `url` drawn with block characters, for a terminal."""
    import segno

    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True)
    return out.getvalue()
