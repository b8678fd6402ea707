"""DoIt (seed 003) critical queries as a Locust workload.

Seed 003 gives no SLAs: every target is an assumption scaled from seed 004's numbers. The
queries are the seed's own examples — the paginated goal list with projection ("Example
Optimized Query"), all goals of a user, the groups a user belongs to — plus what each
documented index implies (phone login, ids, category matching).
"""

from __future__ import annotations

from harness.bench import MongoUser, Params, critical, find


class DoItUser(MongoUser):
    system = "doit"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("users", "users", ["id", "phone_number"])
        p.values("goal_users", "goals", ["user_id", "id"])
        p.values("members", "groups", ["members", "category", "subcategory", "id"])

    @critical(sla_ms=50, freq="high", note="assumed: like seed 004's login; unique phone_number_index")
    def user_by_phone(self, p: Params):
        """find the user by phone number (login)"""
        return find("users", {"phone_number": p.pick("users")["phone_number"]}, limit=1)

    @critical(sla_ms=50, freq="high", note="assumed; unique id_index (not honoured by nx-27017)")
    def user_by_id(self, p: Params):
        """the user by id (every authenticated request)"""
        return find("users", {"id": p.pick("users")["id"]}, limit=1)

    @critical(sla_ms=100, freq="very high",
              note="assumed; the seed's optimised query: projection {id, title, progress}, sort created_at -1, "
                   "limit 20 (user_id_created_index)")
    def goal_list_page(self, p: Params):
        """a user's goals, newest first, one page, list fields only"""
        return find("goals", {"user_id": p.pick("goal_users")["user_id"]},
                    projection={"id": 1, "title": 1, "progress": 1}, sort=[("created_at", -1)], limit=20)

    @critical(sla_ms=150, freq="medium", note="assumed; the seed's 'all goals for a user' (user_id_index)")
    def goals_of_user(self, p: Params):
        """all goals of a user with roadmaps and chat"""
        return find("goals", {"user_id": p.pick("goal_users")["user_id"]})

    @critical(sla_ms=50, freq="very high", note="assumed; unique id_index (not honoured by nx-27017)")
    def goal_by_id(self, p: Params):
        """one goal by id (goal page, chat, verification)"""
        return find("goals", {"id": p.pick("goal_users")["id"]}, limit=1)

    @critical(sla_ms=100, freq="high",
              note="assumed; the seed's 'groups a user is a member of' — the seed documents no index on members")
    def user_groups(self, p: Params):
        """the groups a user belongs to"""
        members = p.pick("members")["members"] or [""]
        return find("groups", {"members": p.rng.choice(members)}, projection={"messages": 0})

    @critical(sla_ms=100, freq="low", note="assumed; category_subcategory_index (group matching)")
    def groups_matching(self, p: Params):
        """groups of a category and subcategory (matching a new goal)"""
        g = p.pick("members")
        return find("groups", {"category": g["category"], "subcategory": g["subcategory"]},
                    projection={"id": 1, "name": 1, "members": 1, "max_members": 1})

    @critical(sla_ms=100, freq="low", note="assumed; category_index")
    def groups_by_category(self, p: Params):
        """groups of one category"""
        return find("groups", {"category": p.pick("members")["category"]}, projection={"id": 1, "name": 1})
