"""Small workloads the bench tests write to disk: fast on every test server (FerretDB scans
big documents slowly, so whole-system runs there are duration-bounded instead)."""

from pathlib import Path

POINT_READ = (Path(__file__).resolve().parent.parent / "workloads" / "examples" / "point_read.py").read_text()
