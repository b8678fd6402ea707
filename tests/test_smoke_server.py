"""The test servers start as real processes and report a capability profile."""

from harness.servers import Server


def test_server_answers_and_probes(server: Server) -> None:
    assert server.client().admin.command("ping")["ok"] == 1
    assert server.caps.kind in ("nx-27017", "ferretdb", "mongodb")
    assert server.caps.coll_stats
