"""Options shared by commands, declared once.

Importing this module imports no driver (pymongo): `harness bench` must patch with gevent
before pymongo loads, and it uses these options too."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from harness.output import note

if TYPE_CHECKING:
    from harness.servers import Server

uri_option = click.option("--uri", envvar="MONGODB_URI", default=None, show_envvar=True,
                          help="MongoDB URI; without it the embedded default server is used.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
db_option = click.option("--db", "database", default=None,
                         help="Target database (default: the system's documented database).")
pushgateway_option = click.option(
    "--pushgateway", "gateway", default=None, envvar="PUSHGATEWAY_URL", show_envvar=True, metavar="URL",
    help="Push the outcome to this Prometheus Pushgateway; a failed push is a warning, not a failure.")
out_option = click.option("--out", default=None, type=click.Path(file_okay=False),
                          help="Report folder (default ./reports).")


def exit_codes(finding: str | None = None) -> str:
    """The `Exit codes:` epilog every command shows in --help, so a CI job can gate on them.
    `finding` says what exit 1 means for this command; None when it has no findings."""
    found = f" 1 {finding};" if finding else ""
    return f"Exit codes: 0 done;{found} 2 bad input or broken infrastructure."


def server_from(uri: str | None, quiet: bool = False) -> Server:
    """Resolve the server and say which one is used (stderr)."""
    from harness.servers import resolve

    server = resolve(uri)
    if not quiet:
        note(server.banner())
    return server


def with_common(fn: Callable[..., Any]) -> Callable[..., Any]:
    return uri_option(json_option(fn))
