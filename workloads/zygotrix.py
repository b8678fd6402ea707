"""Zygotrix (seed 000) critical queries as a Locust workload.

Seed 000 gives no SLAs: every target here is an assumption, scaled from seed 004's (MasterX)
numbers for the same kind of query — 50 ms for a login lookup, 100 ms for one user's list
page, 200 ms for text search. Queries follow the seed's documented indexes and relationships.
"""

from __future__ import annotations

from harness.bench import MongoUser, Params, critical, find

TRAIT_TYPES = ("simple_dominant", "incomplete_dominance", "codominance", "multiple_alleles", "x_linked")
JOB_STATUS = ("pending", "running", "completed", "failed")
SEARCH_WORDS = ("eye", "color", "blood", "hair", "dominant", "recessive", "pigmentation", "wing", "coat", "flower")


class ZygotrixUser(MongoUser):
    system = "zygotrix"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("users", "users", ["_id", "email"])
        p.values("roles", "users", ["role"])
        p.values("conversation_users", "conversations", ["user_id"])
        p.values("job_users", "gwas_jobs", ["user_id", "status", "dataset_id"])
        p.values("dataset_users", "gwas_datasets", ["user_id"])
        p.values("trait_tags", "traits", ["tags", "type"])

    @critical(sla_ms=50, freq="high", note="assumed: like seed 004's user_authentication (email, unique index)")
    def user_login(self, p: Params):
        """find user by email for login"""
        return find("users", {"email": p.pick("users")["email"]}, limit=1)

    @critical(sla_ms=100, freq="very high", note="assumed: one user's list page; index {user_id: 1, updated_at: -1}")
    def conversation_list(self, p: Params):
        """a user's conversations, most recently updated first (no message bodies)"""
        return find("conversations", {"user_id": p.pick("conversation_users")["user_id"]},
                    projection={"title": 1, "updated_at": 1, "created_at": 1}, sort=[("updated_at", -1)], limit=20)

    @critical(sla_ms=200, freq="medium", needs=("text_index",),
              note="assumed; text index {name, description}; search words from the trait catalogue's vocabulary")
    def trait_text_search(self, p: Params):
        """full-text search over trait names and descriptions"""
        return find("traits", {"$text": {"$search": p.rng.choice(SEARCH_WORDS)}},
                    projection={"name": 1, "type": 1, "tags": 1}, limit=20)

    @critical(sla_ms=100, freq="medium", note="assumed; index {type: 1}")
    def traits_by_type(self, p: Params):
        """traits of one inheritance type"""
        return find("traits", {"type": p.rng.choice(TRAIT_TYPES)}, projection={"name": 1, "type": 1})

    @critical(sla_ms=100, freq="low", note="assumed; index {tags: 1} (multikey)")
    def traits_by_tag(self, p: Params):
        """traits carrying one tag"""
        tags = p.pick("trait_tags")["tags"] or ["human"]
        return find("traits", {"tags": p.rng.choice(tags)}, projection={"name": 1, "tags": 1})

    @critical(sla_ms=100, freq="high", note="assumed; index {user_id: 1, status: 1}")
    def gwas_jobs_by_user_status(self, p: Params):
        """a user's GWAS jobs in one status (the job monitor)"""
        job = p.pick("job_users")
        return find("gwas_jobs", {"user_id": job["user_id"], "status": job["status"]})

    @critical(sla_ms=100, freq="medium", note="assumed; index {dataset_id: 1}")
    def gwas_jobs_by_dataset(self, p: Params):
        """the jobs run on one dataset"""
        return find("gwas_jobs", {"dataset_id": p.pick("job_users")["dataset_id"]})

    @critical(sla_ms=100, freq="medium", note="assumed; index {user_id: 1, created_at: -1}")
    def gwas_datasets_by_user(self, p: Params):
        """a user's uploaded datasets, newest first"""
        return find("gwas_datasets", {"user_id": p.pick("dataset_users")["user_id"]},
                    projection={"name": 1, "status": 1, "created_at": 1}, sort=[("created_at", -1)])

    @critical(sla_ms=200, freq="low", note="assumed: an admin page; index {role: 1}")
    def users_by_role(self, p: Params):
        """users with one role (admin listing)"""
        return find("users", {"role": p.pick("roles")["role"]}, projection={"email": 1, "full_name": 1}, limit=50)
