"""Keep secrets out of output, reports, logs and files: URI passwords and AWS keys.

A URI's user info is everything between `scheme://` and the LAST `@` before the host list, so
a password with unescaped `@`, `:` or `/` is hidden whole, and an empty user name (`://:pw@`)
too. Passwords seen in URIs the harness handles are also remembered (`remember_uri`) and
replaced wherever they appear, decoded or not, e.g. inside a driver's error message.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

_SCHEME = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)", re.I)
_END = re.compile(r"[\s'\"<>`]")
_HOST = re.compile(r"^[\w.\-\[\]:,%]*$")
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MONGODB_PASSWORD")
_KNOWN: set[str] = set()
MIN_SECRET = 3  # shorter remembered secrets would blank out ordinary words


def _userinfo_end(rest: str) -> int:
    """Index of the `@` that ends the user info in `rest` (the text after `scheme://`), or -1."""
    stop = _END.search(rest)
    token = rest[: stop.start()] if stop else rest
    at = token.rfind("@")
    while at >= 0:
        host = re.split(r"[/?#]", token[at + 1:], maxsplit=1)[0]
        if _HOST.match(host):
            return at
        at = token.rfind("@", 0, at)
    return -1


def _split(userinfo: str) -> tuple[str, str | None]:
    user, sep, password = userinfo.partition(":")
    return user, (password if sep else None)


def remember_uri(uri: str) -> None:
    """Remember the password of `uri` (raw and percent-decoded) so it is redacted anywhere."""
    m = _SCHEME.search(uri)
    if not m:
        return
    rest = uri[m.end():].strip()
    end = rest.rfind("@")  # the whole value is the URI: quotes or spaces in a password still count
    if end < 0:
        return
    _, password = _split(rest[:end])
    for value in (password, unquote(password) if password else None):
        if value and len(value) >= MIN_SECRET:
            _KNOWN.add(value)


def _redact_uris(text: str) -> str:
    out, pos = [], 0
    for m in _SCHEME.finditer(text):
        if m.start() < pos:
            continue
        rest = text[m.end():]
        end = _userinfo_end(rest)
        if end < 0:
            continue
        user, password = _split(rest[:end])
        if password is None or "/" in user:
            continue
        out.append(text[pos:m.end()] + f"{user}:***@")
        pos = m.end() + end + 1
    out.append(text[pos:])
    return "".join(out)


def redact(text: str) -> str:
    """Replace credentials in free text with ***."""
    text = _redact_uris(text)
    text = _AWS_KEY_ID.sub("AKIA****************", text)
    for value in sorted(_KNOWN, key=len, reverse=True):
        text = text.replace(value, "***")
    for name in _SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, "***")
    return text
