"""One indexed point read: the smallest workload, used by the bench tests and the overhead benchmark."""

from harness.workload import Operation, Params, Workload, find


def sample(p: Params) -> None:
    p.values("users", "users", ["email"])


def login(p: Params):
    """one indexed point read"""
    return find("users", {"email": p.pick("users")["email"]}, limit=1)


WORKLOAD = Workload(system="masterx", sample=sample, operations=[Operation(login, sla_ms=50, freq="high")])
PointRead = WORKLOAD.locust_user()
