"""MasterX (seed 004) critical queries as a Locust workload.

    locust -f workloads/masterx.py --host mongodb://127.0.0.1:27017/   # Locust's web UI
    harness bench masterx --duration 30s                              # headless SLA verdict

SLAs and frequencies are seed 004's own ("Critical Query Performance SLAs" and the three
"Real-time Analytics Queries" with their performance targets). Where the seed leaves a query's
shape open, the choice is written in the query's note.
"""

from __future__ import annotations

from datetime import timedelta

from harness.bench import MongoUser, Params, aggregate, critical, find


class MasterXUser(MongoUser):
    system = "masterx"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("users", "users", ["user_id", "email"], {"account_status": "active"})
        p.values("recent_session_users", "learning_sessions", ["user_id"],
                 {"started_at": {"$gte": p.days_ago(30)}})
        p.values("emotion_users", "emotional_analytics", ["user_id"], {"analysis_date": {"$gte": p.days_ago(90)}})
        p.values("mastery_users", "content_mastery", ["user_id"])
        p.values("due_users", "content_mastery", ["user_id"],
                 {"spaced_repetition_data.next_review_date": {"$lte": p.as_of + timedelta(days=1)}})

    # -- seed 004 §3.1 Critical Query Performance SLAs -----------------------------------------
    @critical(sla_ms=50, freq="high", source="seed 004")
    def user_authentication(self, p: Params):
        """find user by email for login"""
        return find("users", {"email": p.pick("users")["email"]},
                    projection={"user_id": 1, "password_hash": 1, "account_status": 1, "security": 1}, limit=1)

    @critical(sla_ms=100, freq="very high", source="seed 004",
              note="two point reads (users by user_id, learning_dna by user_id), timed together")
    def user_profile_lookup(self, p: Params):
        """get complete user profile and learning DNA"""
        uid = p.pick("users")["user_id"]
        return (find("users", {"user_id": uid}, projection={"password_hash": 0}, limit=1),
                find("learning_dna", {"user_id": uid}, limit=1))

    @critical(sla_ms=200, freq="high", source="seed 004",
              note="users sampled among those with sessions in the last 30 days of the data")
    def recent_session_history(self, p: Params):
        """get user's last 30 days of learning sessions"""
        return find("learning_sessions", {"user_id": p.pick("recent_session_users")["user_id"],
                                          "started_at": {"$gte": p.days_ago(30)}},
                    projection={"interactions": 0}, sort=[("started_at", -1)])

    @critical(sla_ms=500, freq="medium", source="seed 004", needs=("group", "group_avg"),
              note="one user's dashboard: the last 90 days grouped by dominant emotion")
    def emotional_analytics_dashboard(self, p: Params):
        """aggregate emotional analytics for dashboard"""
        return aggregate("emotional_analytics", [
            {"$match": {"user_id": p.pick("emotion_users")["user_id"], "analysis_date": {"$gte": p.days_ago(90)}}},
            {"$group": {"_id": "$emotional_summary.dominant_emotion", "days": {"$sum": 1},
                        "wellness": {"$avg": "$emotional_summary.overall_emotional_wellness"},
                        "stability": {"$avg": "$emotional_summary.emotional_stability_score"}}},
        ])

    @critical(sla_ms=150, freq="very high", source="seed 004",
              note="all of the user's concepts with their mastery tracking; no order (personalization reads "
                   "them all)")
    def content_mastery_lookup(self, p: Params):
        """get user's mastery levels for personalization"""
        return find("content_mastery", {"user_id": p.pick("mastery_users")["user_id"]},
                    projection={"subject": 1, "topic": 1, "concept": 1, "mastery_tracking": 1})

    @critical(sla_ms=100, freq="daily", source="seed 004",
              note="'today' is the last day of the loaded data (its as-of date)")
    def spaced_repetition_due(self, p: Params):
        """find concepts due for review today"""
        due = p.as_of + timedelta(days=1)
        return find("content_mastery", {"user_id": p.pick("due_users")["user_id"],
                                        "spaced_repetition_data.next_review_date": {"$lte": due}},
                    projection={"concept": 1, "subject": 1, "spaced_repetition_data.next_review_date": 1},
                    sort=[("spaced_repetition_data.next_review_date", 1)])

    # -- seed 004 §7.1 Real-time Analytics Queries ----------------------------------------------
    @critical(sla_ms=200, freq="medium", source="seed 004", needs=("lookup", "group_avg"),
              note="the seed's pipeline completed: $lookup needs `as`, so the joined mastery is unwound "
                   "before grouping by subject")
    def user_progress_dashboard(self, p: Params):
        """average mastery per subject for one user ($match users, $lookup content_mastery, $group)"""
        return aggregate("users", [
            {"$match": {"user_id": p.pick("mastery_users")["user_id"]}},
            {"$lookup": {"from": "content_mastery", "localField": "user_id", "foreignField": "user_id",
                         "as": "mastery"}},
            {"$unwind": "$mastery"},
            {"$group": {"_id": "$mastery.subject",
                        "mastery_avg": {"$avg": "$mastery.mastery_tracking.current_mastery_level"}}},
        ])

    @critical(sla_ms=300, freq="low", source="seed 004", note="start_date = 90 days before the data's as-of")
    def emotional_wellness_trends(self, p: Params):
        """one user's daily wellness since start_date, oldest first"""
        return aggregate("emotional_analytics", [
            {"$match": {"user_id": p.pick("emotion_users")["user_id"], "analysis_date": {"$gte": p.days_ago(90)}}},
            {"$project": {"date": "$analysis_date", "wellness": "$emotional_summary.overall_emotional_wellness"}},
            {"$sort": {"date": 1}},
        ])

    @critical(sla_ms=1000, freq="low", source="seed 004", needs=("group", "group_avg", "date_to_string"),
              note="start_date = 7 days before the data's as-of")
    def platform_usage_analytics(self, p: Params):
        """sessions per day since start_date: active users, sessions, average duration"""
        return aggregate("learning_sessions", [
            {"$match": {"started_at": {"$gte": p.days_ago(7)}}},
            {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$started_at"}},
                        "active_users": {"$addToSet": "$user_id"}, "total_sessions": {"$sum": 1},
                        "avg_session_duration": {"$avg": "$duration_minutes"}}},
        ])
