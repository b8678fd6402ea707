"""Terminal output shared by commands: tables, progress, JSON, and status lines.

CI logs are not terminals: there, tables never truncate (a table too wide for the console's
80 columns switches to a list layout that keeps full names and ids), and progress is one plain
line per event with the elapsed time, plus a heartbeat while work goes on without events.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.redact import redact

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
SCHEMA_VERSION = 1


def _cell_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table; where it would not fit the console at full cell width (CI logs: 80 columns),
    a list layout instead: each row's first cell on its own line, then `column: value` lines."""
    cells = [[redact(str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [_cell_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    needed = sum(widths) + 3 * len(columns) + 1  # rich's box: " │ " between cells, edges
    if needed > console.width and cells:
        console.print(title, markup=False)
        for row in cells:
            console.print(f"- {columns[0]}: {row[0]}", markup=False)
            for col, value in zip(columns[1:], row[1:], strict=False):
                if value:
                    console.print(f"    {col}: {value}", markup=False)
        return
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col, justify="right" if col.endswith(("/s", "s)", "docs", "count")) else "left",
                     overflow="fold")
    for row in cells:
        t.add_row(*row)
    console.print(t)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def dumps(data: Any) -> str:
    return redact(json.dumps(data, indent=2, default=_default, sort_keys=False))


def schema_name(name: str, version: int = SCHEMA_VERSION) -> str:
    """`sla-harness/<name>/<version>`, the form the bench's run records use."""
    return f"sla-harness/{name}/{version}"


def with_schema(data: Any, name: str | None = None) -> dict[str, Any]:
    """`data` as a JSON object whose first key is `schema`. The name defaults to the running
    command's path (`harness backup list` -> `backup-list`); a list becomes `items`."""
    if name is None:
        ctx = click.get_current_context(silent=True)
        name = "-".join(ctx.command_path.split()[1:]) if ctx else "output"
        name = name or "output"
    if isinstance(data, dict):
        if "schema" in data:
            return data
        return {"schema": schema_name(name), **data}
    return {"schema": schema_name(name), "items": data}


def emit_json(data: Any, schema: str | None = None) -> None:
    click.echo(dumps(with_schema(data, schema)))


def note(message: str) -> None:
    """Status lines go to stderr so --json output on stdout stays machine-readable."""
    err_console.print(redact(message), markup=False)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f}"


class Progress:
    """Progress of one long step. On a terminal: a rich bar (a spinner with elapsed time when
    the total is unknown). Elsewhere: `[  12.3s] label: event` lines on stderr, and a heartbeat
    line every `heartbeat` seconds while nothing else is printed, so a CI log shows the job is alive.
    Thread-safe: `advance` may be called from a feeder thread."""

    def __init__(self, label: str, total: float | None = None, unit: str = "", heartbeat: float = 15.0,
                 enabled: bool = True, tty: bool | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0.0
        self.enabled = enabled
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.heartbeat = heartbeat
        self._t0 = time.perf_counter()
        self._last_line = self._t0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._bar: Any = None
        self._task: Any = None
        self._thread: threading.Thread | None = None
        if not enabled:
            return
        if self.tty:
            from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                       TextColumn("{task.fields[amount]}"), TimeElapsedColumn()]
            self._bar = RichProgress(*columns, console=err_console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(redact(label), total=total, amount="")
        else:
            self.event("started" + (f" ({self._amount(total)} to do)" if total else ""))
            self._thread = threading.Thread(target=self._beat, daemon=True, name="progress-heartbeat")
            self._thread.start()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def _amount(self, n: float | None) -> str:
        if n is None:
            return ""
        if self.unit == "bytes":
            return _size(n)
        return f"{n:,.0f}{' ' + self.unit if self.unit else ''}"

    def _status(self) -> str:
        if self.total:
            done = self._amount(self.done) if self.unit == "bytes" else f"{self.done:,.0f}"
            return f"{done} of {self._amount(self.total)} ({100 * self.done / self.total:.0f}%)"
        return f"{self._amount(self.done)} so far" if self.done else "working"

    def _line(self, text: str) -> None:
        self._last_line = time.perf_counter()
        click.echo(redact(f"[{self.elapsed:7.1f}s] {self.label}: {text}"), err=True)

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                if time.perf_counter() - self._last_line >= self.heartbeat:
                    self._line(self._status())

    def advance(self, n: float = 1) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done, amount=self._amount(self.done))

    def event(self, text: str) -> None:
        """A step worth a line of its own (a collection verified, a rule finished)."""
        if not self.enabled:
            return
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(redact(f"{self.label}: {text}"), markup=False)
            else:
                self._line(text)

    def close(self, summary: str = "") -> None:
        if not self.enabled:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if summary or not self.tty:
            with self._lock:
                self._line(summary or f"done: {self._status().removesuffix(' so far')}")
        self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close("stopped" if exc and exc[0] is not None else "")
