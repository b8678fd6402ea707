"""Options shared by commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from harness.output import note
from harness.servers import Server, resolve

uri_option = click.option("--uri", envvar="MONGODB_URI", default=None, show_envvar=True,
                          help="MongoDB URI; without it the embedded default server is used.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
db_option = click.option("--db", "database", default=None,
                         help="Target database (default: the system's documented database).")


def server_from(uri: str | None, quiet: bool = False) -> Server:
    """Resolve the server and say which one is used (stderr)."""
    server = resolve(uri)
    if not quiet:
        note(server.banner())
    return server


def with_common(fn: Callable[..., Any]) -> Callable[..., Any]:
    return uri_option(json_option(fn))
