"""Shared report plumbing: where reports go, JSON files, HTML pages with embedded charts.

Every feature renders its HTML from a Jinja2 template in harness/templates/ that extends
`base.html.j2`; charts are matplotlib figures embedded as data URIs so a report is one file.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.output import dumps
from harness.redact import redact

_ENV = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(["html", "j2"]))


def out_dir(path: str | Path | None) -> Path:
    """The report directory (default ./reports), created if needed."""
    target = Path(path or "reports")
    target.mkdir(parents=True, exist_ok=True)
    return target


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_json(path: Path, data: Any) -> Path:
    path.write_text(dumps(data) + "\n")
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def figure_uri(fig: Any) -> str:
    """A matplotlib figure as a PNG data URI (and the figure closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def new_figure(width: float = 7.0, height: float = 3.2) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def write_html(path: Path, template: str, **context: Any) -> Path:
    context.setdefault("generated_at", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    path.write_text(redact(_ENV.get_template(template).render(**context)))
    return path
