"""Digital Medical Twin (seed 002) critical queries as a Locust workload.

Seed 002 gives no SLAs: every target is an assumption scaled from seed 004's numbers. The
queries are the ones its index table names: login by username, the timeline (userId, date),
filter by event type (userId, type) and tag-based search (userId, tags).
"""

from __future__ import annotations

from harness.bench import MongoUser, Params, critical, find

EVENT_TYPES = ("lab_result", "doctor_visit", "medication", "intervention", "metric")


class MedicalTwinUser(MongoUser):
    system = "medical_twin"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("users", "users", ["username", "id"])
        p.values("event_users", "events", ["userId", "type"])
        p.values("tagged", "events", ["userId", "tags"], {"tags.0": {"$exists": True}})

    @critical(sla_ms=50, freq="high", note="assumed: like seed 004's login; unique username index")
    def user_login(self, p: Params):
        """find the user by username (login)"""
        return find("users", {"username": p.pick("users")["username"]}, limit=1)

    @critical(sla_ms=150, freq="very high", note="assumed; 'Timeline queries' index (userId, date); one page of 50")
    def timeline(self, p: Params):
        """a user's timeline, newest first, one page"""
        return find("events", {"userId": p.pick("event_users")["userId"]}, sort=[("date", -1)], limit=50)

    @critical(sla_ms=150, freq="high", note="assumed; (userId, date) with a 90-day window before the data's as-of")
    def timeline_window(self, p: Params):
        """a user's events of the last 90 days"""
        return find("events", {"userId": p.pick("event_users")["userId"], "date": {"$gte": p.days_ago(90)}},
                    sort=[("date", -1)])

    @critical(sla_ms=150, freq="medium", note="assumed; 'Filter by event type' index (userId, type)")
    def events_by_type(self, p: Params):
        """a user's events of one type"""
        e = p.pick("event_users")
        return find("events", {"userId": e["userId"], "type": e["type"]})

    @critical(sla_ms=150, freq="medium", note="assumed; 'Tag-based search' index (userId, tags), multikey")
    def events_by_tag(self, p: Params):
        """a user's events carrying one tag"""
        e = p.pick("tagged")
        return find("events", {"userId": e["userId"], "tags": p.rng.choice(e["tags"])})
