"""Small workloads the bench tests write to disk: fast on every test server (FerretDB scans
big documents slowly, so whole-system runs there are duration-bounded instead)."""

POINT_READ = '''
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
'''
