"""One indexed point read: the smallest workload, used by the bench tests and the overhead benchmark."""

from harness.bench import MongoUser, critical, find


class PointRead(MongoUser):
    system = "masterx"

    @classmethod
    def sample(cls, p):
        p.values("users", "users", ["email"])

    @critical(sla_ms=50, freq="high")
    def login(self, p):
        """one indexed point read"""
        return find("users", {"email": p.pick("users")["email"]}, limit=1)
