"""SLA Harness: load, benchmark, back up and plan capacity for MongoDB-backed systems."""

__version__ = "0.1.0"
