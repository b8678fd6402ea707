"""Zygotrix (seed 000): critical queries and the hot-path writes, as a plain workload.

Seed 000 gives no SLAs: every target here is an assumption, scaled from seed 004's (MasterX)
numbers for the same kind of query — 50 ms for a login lookup or a single-document write,
100 ms for one user's list page, 200 ms for text search. Queries follow the seed's documented
indexes and relationships. Writes: a chat message appended to a conversation, and a GWAS job
submitted, started and completed (the job monitor's life cycle), each by its `_id`.
"""

from __future__ import annotations

from harness.workload import Operation, Params, Workload, find, insert_one, push, update_one


def sample(p: Params) -> None:
    p.values("users", "users", ["_id", "email"])
    p.values("roles", "users", ["role"])
    p.values("conversations", "conversations", ["_id", "user_id"])
    p.values("job_users", "gwas_jobs", ["user_id", "status", "dataset_id"])
    p.values("pending_jobs", "gwas_jobs", ["_id"], {"status": "pending"})
    p.values("running_jobs", "gwas_jobs", ["_id"], {"status": "running"})
    p.values("datasets", "gwas_datasets", ["_id", "user_id"])
    p.values("dataset_users", "gwas_datasets", ["user_id"])
    p.values("trait_tags", "traits", ["tags", "type"])
    names = p.values("trait_names", "traits", ["name"])
    p.add("search_words", sorted({w.strip("(),.").lower() for d in names for w in d["name"].split()
                                  if len(w.strip("(),.")) > 3}))
    p.templates("chat", "conversations", "messages")
    p.templates("new_jobs", "gwas_jobs")


def user_login(p: Params):
    """find user by email for login"""
    return find("users", {"email": p.pick("users")["email"]}, limit=1)


def conversation_list(p: Params):
    """a user's conversations, most recently updated first (no message bodies)"""
    return find("conversations", {"user_id": p.pick("conversations")["user_id"]},
                projection={"title": 1, "updated_at": 1, "created_at": 1}, sort=[("updated_at", -1)], limit=20)


def trait_text_search(p: Params):
    """full-text search over trait names and descriptions"""
    return find("traits", {"$text": {"$search": p.pick("search_words")}},
                projection={"name": 1, "type": 1, "tags": 1}, limit=20)


def traits_by_type(p: Params):
    """traits of one inheritance type"""
    return find("traits", {"type": p.pick("trait_tags")["type"]}, projection={"name": 1, "type": 1})


def traits_by_tag(p: Params):
    """traits carrying one tag"""
    tags = p.pick("trait_tags")["tags"] or ["human"]
    return find("traits", {"tags": p.rng.choice(tags)}, projection={"name": 1, "tags": 1})


def gwas_jobs_by_user_status(p: Params):
    """a user's GWAS jobs in one status (the job monitor)"""
    job = p.pick("job_users")
    return find("gwas_jobs", {"user_id": job["user_id"], "status": job["status"]})


def gwas_jobs_by_dataset(p: Params):
    """the jobs run on one dataset"""
    return find("gwas_jobs", {"dataset_id": p.pick("job_users")["dataset_id"]})


def gwas_datasets_by_user(p: Params):
    """a user's uploaded datasets, newest first"""
    return find("gwas_datasets", {"user_id": p.pick("dataset_users")["user_id"]},
                projection={"name": 1, "status": 1, "created_at": 1}, sort=[("created_at", -1)])


def users_by_role(p: Params):
    """users with one role (admin listing)"""
    return find("users", {"role": p.pick("roles")["role"]}, projection={"email": 1, "full_name": 1}, limit=50)


def chat_message_appended(p: Params):
    """a chat message appended to a conversation, its updated_at moved"""
    now = p.now()
    msg = p.fresh("chat", id=p.uuid(), timestamp=now)
    return push("conversations", {"_id": p.pick("conversations")["_id"]}, "messages", msg, keep_last=200,
                set={"updated_at": now})


def gwas_job_submitted(p: Params):
    """a GWAS job created (pending) on one of the user's datasets"""
    d = p.pick("datasets")
    doc = p.fresh("new_jobs", user_id=d["user_id"], dataset_id=d["_id"], status="pending", created_at=p.now())
    for key in ("started_at", "completed_at", "error", "result_id"):
        doc.pop(key, None)
    p.remember("gwas_pending", doc["_id"])
    return insert_one("gwas_jobs", doc)


def gwas_job_started(p: Params):
    """a pending job picked up by a worker: pending → running"""
    job = p.take("gwas_pending") or p.pick("pending_jobs")["_id"]
    p.remember("gwas_running", job)
    return update_one("gwas_jobs", {"_id": job, "status": "pending"},
                      {"$set": {"status": "running", "started_at": p.now()}})


def gwas_job_completed(p: Params):
    """a running job finished: running → completed"""
    job = p.take("gwas_running") or p.pick("running_jobs")["_id"]
    return update_one("gwas_jobs", {"_id": job, "status": "running"},
                      {"$set": {"status": "completed", "completed_at": p.now()}})


WORKLOAD = Workload(system="zygotrix", sample=sample, operations=[
    Operation(user_login, sla_ms=50, freq="high", note="assumed: like seed 004's user_authentication (email, unique)"),
    Operation(conversation_list, sla_ms=100, freq="very high",
              note="assumed: one user's list page; index {user_id: 1, updated_at: -1}"),
    Operation(trait_text_search, sla_ms=200, freq="medium", needs=("text_index",),
              note="assumed; text index {name, description}; one word of a loaded trait's name per search"),
    Operation(traits_by_type, sla_ms=100, freq="medium",
              note="assumed; index {type: 1}; types drawn from the loaded traits"),
    Operation(traits_by_tag, sla_ms=100, freq="low", note="assumed; index {tags: 1} (multikey)"),
    Operation(gwas_jobs_by_user_status, sla_ms=100, freq="high", note="assumed; index {user_id: 1, status: 1}"),
    Operation(gwas_jobs_by_dataset, sla_ms=100, freq="medium", note="assumed; index {dataset_id: 1}"),
    Operation(gwas_datasets_by_user, sla_ms=100, freq="medium", note="assumed; index {user_id: 1, created_at: -1}"),
    Operation(users_by_role, sla_ms=200, freq="low", note="assumed: an admin page; index {role: 1}"),
    Operation(chat_message_appended, sla_ms=50, freq="very high",
              note="assumed: $push by _id at the point-read SLA; a conversation keeps its last 200 messages "
                   "($slice); messages[].id is unique, so each gets a new UUID"),
    Operation(gwas_job_submitted, sla_ms=50, freq="medium", note="assumed: a single-document insert"),
    Operation(gwas_job_started, sla_ms=50, freq="medium",
              note="assumed: update by _id and status; jobs this process submitted, else loaded pending jobs"),
    Operation(gwas_job_completed, sla_ms=50, freq="low",
              note="assumed: update by _id and status; jobs this process started, else loaded running jobs"),
])
ZygotrixUser = WORKLOAD.locust_user()
