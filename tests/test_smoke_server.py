"""The test servers start as real processes and report a capability profile."""

import pytest

from harness.servers import Server


@pytest.mark.smoke
def test_server_answers_and_probes(server: Server) -> None:
    assert server.client().admin.command("ping")["ok"] == 1
    assert server.caps.kind in ("nx-27017", "ferretdb", "mongodb")
    assert server.caps.coll_stats


def test_reference_server_profile(server: Server) -> None:
    """What the reference server honours, as FIELD-NOTES records it: every index kind the seeds
    use, geo, ObjectId equality, per-index sizes; and what it lacks (transactions, replica set)."""
    if server.caps.kind != "ferretdb":
        pytest.skip(f"{server.caps.server} is not the DocumentDB reference server")
    caps = server.caps
    for name in ("unique_index_on_id", "descending_keys", "index_names", "text_index", "text_index_listed",
                 "lookup", "group", "group_avg", "date_to_string", "geo", "objectid_equality", "ttl_index",
                 "partial_index", "coll_stats_index_sizes", "array_path_query", "array_pull_condition"):
        assert caps.has(name), name
    assert not caps.transactions and not caps.replica_set
    assert caps.server.startswith("FerretDB 2.5") and caps.server.endswith("on DocumentDB")
