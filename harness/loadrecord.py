"""The load record: what `harness load` keeps in every database it generates.

A shared contract between feature packages (load writes it; bench reads the data's as-of day
and guards its writes with it; capacity reads counts and scale; restore verification reads
the restored copy), so it lives here rather than in any one of them.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

META = "harness_meta"  # the collection
RECORD_ID = "load"  # the record's _id in it


def read_meta(db: Database) -> dict[str, Any] | None:
    """The load record of `db`, or None when `harness load` did not generate it."""
    return db[META].find_one({"_id": RECORD_ID})
