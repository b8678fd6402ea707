"""Terminal output shared by commands: tables, JSON, and the server banner."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.redact import redact

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col, justify="right" if col.endswith(("/s", "s)", "docs", "count")) else "left")
    for row in rows:
        t.add_row(*[redact(str(v)) for v in row])
    console.print(t)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def dumps(data: Any) -> str:
    return redact(json.dumps(data, indent=2, default=_default, sort_keys=False))


def emit_json(data: Any) -> None:
    click.echo(dumps(data))


def note(message: str) -> None:
    """Status lines go to stderr so --json output on stdout stays machine-readable."""
    err_console.print(redact(message))
