"""MasterX (seed 004): critical queries and the hot-path writes, as a plain workload.

    harness bench masterx                                             # headless SLA verdict
    locust -f workloads/masterx.py --host mongodb://127.0.0.1:27017/   # Locust's web UI

Read SLAs and frequencies are seed 004's own (§3.1 "Critical Query Performance SLAs" and the
three §7.1 "Real-time Analytics Queries" with their performance targets). The seed gives no
write SLAs: the writes are the hot path its schema implies (a session started, interactions
appended, mastery updated after a review, a day's emotional analytics), each with an assumed
SLA written in its note. Where the seed leaves a query's shape open, the choice is in the note.
"""

from __future__ import annotations

from datetime import timedelta

from harness.workload import Operation, Params, Workload, aggregate, find, insert_one, push, update_one


def sample(p: Params) -> None:
    p.values("users", "users", ["user_id", "email"], {"account_status": "active"})
    p.values("recent_session_users", "learning_sessions", ["user_id"], {"started_at": {"$gte": p.days_ago(30)}})
    p.values("emotion_users", "emotional_analytics", ["user_id"], {"analysis_date": {"$gte": p.days_ago(90)}})
    p.values("mastery", "content_mastery", ["user_id", "concept"])
    p.values("due_users", "content_mastery", ["user_id"],
             {"spaced_repetition_data.next_review_date": {"$lte": p.as_of + timedelta(days=1)}})
    p.values("sessions", "learning_sessions", ["session_id", "user_id"], {"started_at": {"$gte": p.days_ago(30)}})
    p.templates("new_sessions", "learning_sessions")
    p.templates("interactions", "learning_sessions", "interactions")
    p.templates("new_emotions", "emotional_analytics")
    p.templates("reviews", "content_mastery", "spaced_repetition_data.review_history")


# -- seed 004 §3.1 Critical Query Performance SLAs ---------------------------------------------------
def user_authentication(p: Params):
    """find user by email for login"""
    return find("users", {"email": p.pick("users")["email"]},
                projection={"user_id": 1, "password_hash": 1, "account_status": 1, "security": 1}, limit=1)


def user_profile_lookup(p: Params):
    """get complete user profile and learning DNA"""
    uid = p.pick("users")["user_id"]
    return (find("users", {"user_id": uid}, projection={"password_hash": 0}, limit=1),
            find("learning_dna", {"user_id": uid}, limit=1))


def recent_session_history(p: Params):
    """get user's last 30 days of learning sessions"""
    return find("learning_sessions", {"user_id": p.pick("recent_session_users")["user_id"],
                                      "started_at": {"$gte": p.days_ago(30)}},
                projection={"interactions": 0}, sort=[("started_at", -1)])


def emotional_analytics_dashboard(p: Params):
    """aggregate emotional analytics for dashboard"""
    return aggregate("emotional_analytics", [
        {"$match": {"user_id": p.pick("emotion_users")["user_id"], "analysis_date": {"$gte": p.days_ago(90)}}},
        {"$group": {"_id": "$emotional_summary.dominant_emotion", "days": {"$sum": 1},
                    "wellness": {"$avg": "$emotional_summary.overall_emotional_wellness"},
                    "stability": {"$avg": "$emotional_summary.emotional_stability_score"}}},
    ])


def content_mastery_lookup(p: Params):
    """get user's mastery levels for personalization"""
    return find("content_mastery", {"user_id": p.pick("mastery")["user_id"]},
                projection={"subject": 1, "topic": 1, "concept": 1, "mastery_tracking": 1})


def spaced_repetition_due(p: Params):
    """find concepts due for review today"""
    due = p.as_of + timedelta(days=1)
    return find("content_mastery", {"user_id": p.pick("due_users")["user_id"],
                                    "spaced_repetition_data.next_review_date": {"$lte": due}},
                projection={"concept": 1, "subject": 1, "spaced_repetition_data.next_review_date": 1},
                sort=[("spaced_repetition_data.next_review_date", 1)])


# -- seed 004 §7.1 Real-time Analytics Queries ------------------------------------------------------
def user_progress_dashboard(p: Params):
    """average mastery per subject for one user ($match users, $lookup content_mastery, $group)"""
    return aggregate("users", [
        {"$match": {"user_id": p.pick("mastery")["user_id"]}},
        {"$lookup": {"from": "content_mastery", "localField": "user_id", "foreignField": "user_id",
                     "as": "mastery"}},
        {"$unwind": "$mastery"},
        {"$group": {"_id": "$mastery.subject",
                    "mastery_avg": {"$avg": "$mastery.mastery_tracking.current_mastery_level"}}},
    ])


def emotional_wellness_trends(p: Params):
    """one user's daily wellness since start_date, oldest first"""
    return aggregate("emotional_analytics", [
        {"$match": {"user_id": p.pick("emotion_users")["user_id"], "analysis_date": {"$gte": p.days_ago(90)}}},
        {"$project": {"date": "$analysis_date", "wellness": "$emotional_summary.overall_emotional_wellness"}},
        {"$sort": {"date": 1}},
    ])


def platform_usage_analytics(p: Params):
    """sessions per day since start_date: active users, sessions, average duration"""
    return aggregate("learning_sessions", [
        {"$match": {"started_at": {"$gte": p.days_ago(7)}}},
        {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$started_at"}},
                    "active_users": {"$addToSet": "$user_id"}, "total_sessions": {"$sum": 1},
                    "avg_session_duration": {"$avg": "$duration_minutes"}}},
    ])


# -- writes: the hot path the schema implies ----------------------------------------------------------
def session_started(p: Params):
    """a learning session inserted when a user starts studying"""
    now = p.now()
    doc = p.fresh("new_sessions", user_id=p.pick("users")["user_id"], session_id=p.uuid(), started_at=now,
                  ended_at=now + timedelta(minutes=30))
    return insert_one("learning_sessions", doc)


def interaction_appended(p: Params):
    """an AI interaction appended to a recent session (the chat loop)"""
    item = p.fresh("interactions", interaction_id=p.uuid(), timestamp=p.now())
    return push("learning_sessions", {"session_id": p.pick("sessions")["session_id"]}, "interactions", item,
                keep_last=200)


def mastery_review_recorded(p: Params):
    """a concept's mastery updated after a spaced-repetition review"""
    m = p.pick("mastery")
    review = p.fresh("reviews", date=p.now())
    level = round(p.rng.uniform(0.2, 1.0), 3)
    return update_one("content_mastery", {"user_id": m["user_id"], "concept": m["concept"]}, {
        "$set": {"mastery_tracking.current_mastery_level": level, "mastery_tracking.last_practiced_date": p.now(),
                 "spaced_repetition_data.next_review_date": p.as_of + timedelta(days=p.rng.choice((1, 3, 7, 14)))},
        "$push": {"spaced_repetition_data.review_history": {"$each": [review], "$slice": -50}},
    })


def daily_emotions_inserted(p: Params):
    """a user's daily emotional analytics document (the nightly aggregation)"""
    doc = p.fresh("new_emotions", user_id=p.pick("users")["user_id"], analysis_date=p.as_of,
                  data_source="daily_aggregation")
    return insert_one("emotional_analytics", doc)


S31 = "seed 004 §3.1"
S71 = "seed 004 §7.1"
WORKLOAD = Workload(system="masterx", sample=sample, operations=[
    Operation(user_authentication, sla_ms=50, freq="high", source=S31),
    Operation(user_profile_lookup, sla_ms=100, freq="very high", source=S31,
              note="two point reads (users by user_id, learning_dna by user_id), timed together"),
    Operation(recent_session_history, sla_ms=200, freq="high", source=S31,
              note="users sampled among those with sessions in the last 30 days of the data"),
    Operation(emotional_analytics_dashboard, sla_ms=500, freq="medium", source=S31, needs=("group", "group_avg"),
              note="one user's dashboard: the last 90 days grouped by dominant emotion"),
    Operation(content_mastery_lookup, sla_ms=150, freq="very high", source=S31,
              note="all of the user's concepts with their mastery tracking; no order (personalization reads "
                   "them all)"),
    Operation(spaced_repetition_due, sla_ms=100, freq="daily", source=S31,
              note="'today' is the last day of the loaded data (its as-of date)"),
    Operation(user_progress_dashboard, sla_ms=200, freq="medium", source=S71, needs=("lookup", "group_avg"),
              note="the seed's pipeline completed: $lookup needs `as`, so the joined mastery is unwound "
                   "before grouping by subject"),
    Operation(emotional_wellness_trends, sla_ms=300, freq="low", source=S71,
              note="start_date = 90 days before the data's as-of"),
    Operation(platform_usage_analytics, sla_ms=1000, freq="low", source=S71,
              needs=("group", "group_avg", "date_to_string"), note="start_date = 7 days before the data's as-of"),
    Operation(session_started, sla_ms=50, freq="high",
              note="assumed: a single-document insert, at seed 004's point-read SLA (50 ms)"),
    Operation(interaction_appended, sla_ms=50, freq="very high",
              note="assumed: $push by the unique session_id index, at the point-read SLA, onto sessions of the "
                   "last 30 days; a session keeps its last 200 interactions ($slice)"),
    Operation(mastery_review_recorded, sla_ms=100, freq="high",
              note="assumed: one update by (user_id, concept) — the {user_id, subject} index narrows it; review "
                   "history kept to its last 50 entries ($push with $slice)"),
    Operation(daily_emotions_inserted, sla_ms=100, freq="daily",
              note="assumed: the nightly per-user aggregation, one insert per user"),
])
MasterXUser = WORKLOAD.locust_user()
