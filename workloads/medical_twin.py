"""Digital Medical Twin (seed 002): critical queries and the hot-path writes, as a plain workload.

Seed 002 gives no SLAs: every target is an assumption scaled from seed 004's numbers. The
queries are the ones its index table names: login by username, the timeline (userId, date),
filter by event type (userId, type) and tag-based search (userId, tags). The writes record an
event of each of the seed's five types (a single-document insert each) and edit one.
"""

from __future__ import annotations

from harness.workload import Operation, Params, Workload, find, insert_one, update_one

EVENT_TYPES = ("lab_result", "doctor_visit", "medication", "intervention", "metric")


def sample(p: Params) -> None:
    p.values("users", "users", ["username", "id"])
    p.values("event_users", "events", ["userId", "type"])
    p.values("events", "events", ["id"])
    p.values("tagged", "events", ["userId", "tags"], {"tags.0": {"$exists": True}})
    if p.generated:  # templates of each event type, made by the system's generator
        by_type: dict[str, list] = {t: [] for t in EVENT_TYPES}
        for _ in range(400):
            doc = p.new_document("events")
            by_type[doc["type"]].append(doc)
            if all(len(v) >= 5 for v in by_type.values()):
                break
        for t, docs in by_type.items():
            if docs:
                p.add(f"new_{t}", docs)


def user_login(p: Params):
    """find the user by username (login)"""
    return find("users", {"username": p.pick("users")["username"]}, limit=1)


def timeline(p: Params):
    """a user's timeline, newest first, one page"""
    return find("events", {"userId": p.pick("event_users")["userId"]}, sort=[("date", -1)], limit=50)


def timeline_window(p: Params):
    """a user's events of the last 90 days"""
    return find("events", {"userId": p.pick("event_users")["userId"], "date": {"$gte": p.days_ago(90)}},
                sort=[("date", -1)])


def events_by_type(p: Params):
    """a user's events of one type"""
    e = p.pick("event_users")
    return find("events", {"userId": e["userId"], "type": e["type"]})


def events_by_tag(p: Params):
    """a user's events carrying one tag"""
    e = p.pick("tagged")
    return find("events", {"userId": e["userId"], "tags": p.rng.choice(e["tags"])})


def _recorder(event_type: str):
    def record(p: Params):
        now = p.now()
        doc = p.fresh(f"new_{event_type}", id=p.uuid(), userId=p.pick("users")["id"], date=now, createdAt=now,
                      updatedAt=now)
        return insert_one("events", doc)

    record.__name__ = f"record_{event_type}"
    record.__doc__ = f"a {event_type.replace('_', ' ')} event recorded for a user"
    return record


def event_edited(p: Params):
    """a user edits an event's notes (updatedAt moves)"""
    return update_one("events", {"id": p.pick("events")["id"]},
                      {"$set": {"notes": "edited in the app", "updatedAt": p.now()}})


WORKLOAD = Workload(system="medical_twin", sample=sample, operations=[
    Operation(user_login, sla_ms=50, freq="high", note="assumed: like seed 004's login; unique username index"),
    Operation(timeline, sla_ms=150, freq="very high",
              note="assumed; 'Timeline queries' index (userId, date); one page of 50"),
    Operation(timeline_window, sla_ms=150, freq="high",
              note="assumed; (userId, date) with a 90-day window before the data's as-of"),
    Operation(events_by_type, sla_ms=150, freq="medium", note="assumed; 'Filter by event type' index (userId, type)"),
    Operation(events_by_tag, sla_ms=150, freq="medium",
              note="assumed; 'Tag-based search' index (userId, tags), multikey"),
    *[Operation(_recorder(t), sla_ms=50, freq="medium" if t in ("metric", "medication") else "low",
                note="assumed: a single-document insert at the point-read SLA; the document is the generator's "
                     f"{t} shape with a new id, owner and today's date")
      for t in EVENT_TYPES],
    Operation(event_edited, sla_ms=50, freq="low", note="assumed: one update by the unique id index"),
])
MedicalTwinUser = WORKLOAD.locust_user()
