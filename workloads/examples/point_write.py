"""One indexed single-document update: the write side of the overhead benchmark and the write tests."""

from harness.workload import Operation, Params, Workload, update_one


def sample(p: Params) -> None:
    p.values("users", "users", ["email"])


def touch_login(p: Params):
    """a user's last_login moved (update by the unique email index)"""
    return update_one("users", {"email": p.pick("users")["email"]}, {"$set": {"last_login": p.now()}})


WORKLOAD = Workload(system="masterx", sample=sample, operations=[Operation(touch_login, sla_ms=50, freq="high")])
PointWrite = WORKLOAD.locust_user()
