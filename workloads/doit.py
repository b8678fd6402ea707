"""DoIt (seed 003): critical queries and the hot-path writes, as a plain workload.

Seed 003 gives no SLAs: every target is an assumption scaled from seed 004's numbers (50 ms
point reads, 100-150 ms one user's list). The queries are the seed's own examples — the
paginated goal list with projection ("Example Optimized Query"), all goals of a user, the
groups a user belongs to — plus what each documented index implies (phone login, ids,
category matching). The writes are what the seed's goal document implies: a chat message
appended to `goals.messages`, a daily verification pushed with its stats, a group message.
"""

from __future__ import annotations

from harness.workload import Operation, Params, Workload, find, push, update_one


def sample(p: Params) -> None:
    p.values("users", "users", ["id", "phone_number"])
    p.values("goal_users", "goals", ["user_id", "id"])
    p.values("verified_goals", "goals", ["id"], {"verification_stats.total_tests": {"$exists": True}})
    p.values("members", "groups", ["members", "category", "subcategory", "id"])
    p.templates("chat", "goals", "messages")
    p.templates("tests", "goals", "daily_verifications")
    p.templates("group_messages", "groups", "messages")


def user_by_phone(p: Params):
    """find the user by phone number (login)"""
    return find("users", {"phone_number": p.pick("users")["phone_number"]}, limit=1)


def user_by_id(p: Params):
    """the user by id (every authenticated request)"""
    return find("users", {"id": p.pick("users")["id"]}, limit=1)


def goal_list_page(p: Params):
    """a user's goals, newest first, one page, list fields only"""
    return find("goals", {"user_id": p.pick("goal_users")["user_id"]},
                projection={"id": 1, "title": 1, "progress": 1}, sort=[("created_at", -1)], limit=20)


def goals_of_user(p: Params):
    """all goals of a user with roadmaps and chat"""
    return find("goals", {"user_id": p.pick("goal_users")["user_id"]})


def goal_by_id(p: Params):
    """one goal by id (goal page, chat, verification)"""
    return find("goals", {"id": p.pick("goal_users")["id"]}, limit=1)


def user_groups(p: Params):
    """the groups a user belongs to"""
    return find("groups", {"members": p.rng.choice(p.pick("members")["members"])}, projection={"messages": 0})


def groups_matching(p: Params):
    """groups of a category and subcategory (matching a new goal)"""
    g = p.pick("members")
    return find("groups", {"category": g["category"], "subcategory": g["subcategory"]},
                projection={"id": 1, "name": 1, "members": 1, "max_members": 1})


def groups_by_category(p: Params):
    """groups of one category"""
    return find("groups", {"category": p.pick("members")["category"]}, projection={"id": 1, "name": 1})


def chat_message_appended(p: Params):
    """a coaching chat message appended to a goal"""
    msg = p.fresh("chat", timestamp=p.iso(p.now()))
    return push("goals", {"id": p.pick("goal_users")["id"]}, "messages", msg, keep_last=400)


def daily_verification_recorded(p: Params):
    """today's verification test pushed onto a goal, its stats counted"""
    test = p.fresh("tests", test_id=p.uuid(), date=p.as_of.date().isoformat(), completed_at=p.now())
    passed = bool(test.get("passed"))
    goal = {"id": p.pick("verified_goals")["id"], "verification_stats.total_tests": {"$exists": True}}
    return update_one("goals", goal, {
        "$push": {"daily_verifications": test},
        "$inc": {"verification_stats.total_tests": 1, "verification_stats.passed": int(passed),
                 "verification_stats.failed": int(not passed)},
    })


def group_message_posted(p: Params):
    """a member posts in an anonymous community group"""
    g = p.pick("members")
    msg = p.fresh("group_messages", user_id=p.rng.choice(g["members"]), timestamp=p.iso(p.now()))
    return push("groups", {"id": g["id"]}, "messages", msg, keep_last=500)


WORKLOAD = Workload(system="doit", sample=sample, operations=[
    Operation(user_by_phone, sla_ms=50, freq="high", note="assumed: like seed 004's login; unique phone_number_index"),
    Operation(user_by_id, sla_ms=50, freq="high", note="assumed; unique id_index"),
    Operation(goal_list_page, sla_ms=100, freq="very high",
              note="assumed; the seed's optimised query: projection {id, title, progress}, sort created_at -1, "
                   "limit 20 (user_id_created_index)"),
    Operation(goals_of_user, sla_ms=150, freq="medium",
              note="assumed; the seed's 'all goals for a user' (user_id_index)"),
    Operation(goal_by_id, sla_ms=50, freq="very high", note="assumed; unique id_index"),
    Operation(user_groups, sla_ms=100, freq="high",
              note="assumed; the seed's 'groups a user is a member of' — the seed documents no index on members"),
    Operation(groups_matching, sla_ms=100, freq="low", note="assumed; category_subcategory_index (group matching)"),
    Operation(groups_by_category, sla_ms=100, freq="low", note="assumed; category_index"),
    Operation(chat_message_appended, sla_ms=50, freq="very high",
              note="assumed: $push by the unique id_index at the point-read SLA; the chat keeps its last 400 "
                   "messages ($slice)"),
    Operation(daily_verification_recorded, sla_ms=50, freq="medium",
              note="assumed: one $push + $inc by id_index; the seed's verification_stats counted in the same "
                   "update"),
    Operation(group_message_posted, sla_ms=50, freq="high",
              note="assumed: $push by the group's unique id_index; a group keeps its last 500 messages ($slice)"),
])
DoItUser = WORKLOAD.locust_user()
