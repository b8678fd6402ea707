"""Small workloads the bench tests write to disk: fast on every test server."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "workloads" / "examples"
POINT_READ = (EXAMPLES / "point_read.py").read_text()
POINT_WRITE = (EXAMPLES / "point_write.py").read_text()
