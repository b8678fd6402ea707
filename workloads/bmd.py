"""BMD Express web (seed 001, PostgreSQL in the seed; its tables as collections): critical
queries and the hot-path writes, as a plain workload.

Seed 001 gives no SLAs: every target is an assumption scaled from seed 004's numbers. Each
query is what one of the seed's documented indexes exists for: project list and recent
projects, experiments and results by project, results by project and BMD method, by experiment
and by prefilter, jobs by user, project and status, and the recent-jobs page. Writes: an analysis
job created (pending) and its progress updated by the worker until it completes.
"""

from __future__ import annotations

from harness.workload import Operation, Params, Workload, find, insert_one, update_one

JOB_STATUS = ("pending", "running", "completed", "failed", "cancelled")


def sample(p: Params) -> None:
    p.values("users", "users", ["id", "username", "email"])
    p.values("projects", "bmd_projects", ["id", "user_id"])
    p.values("results", "bmd_results", ["project_id", "bmd_method", "experiment_id"])
    p.values("prefiltered", "bmd_results", ["prefilter_id"], {"prefilter_id": {"$ne": None}})
    p.values("jobs", "jobs", ["user_id", "project_id", "status"], {"project_id": {"$ne": None}})
    p.values("running_jobs", "jobs", ["id"], {"status": "running"})
    p.templates("new_jobs", "jobs")


def user_login(p: Params):
    """find the user by username (login)"""
    return find("users", {"username": p.pick("users")["username"]}, limit=1)


def project_list(p: Params):
    """a user's projects, newest first"""
    return find("bmd_projects", {"user_id": p.pick("projects")["user_id"]},
                projection={"id": 1, "name": 1, "created_at": 1}, sort=[("created_at", -1)])


def recent_projects(p: Params):
    """the 20 newest projects"""
    return find("bmd_projects", {}, projection={"id": 1, "name": 1, "user_id": 1}, sort=[("created_at", -1)],
                limit=20)


def experiments_by_project(p: Params):
    """a project's dose-response experiments"""
    return find("dose_response_experiments", {"project_id": p.pick("projects")["id"]},
                projection={"expression_matrix_s3_key": 0})


def results_by_project_method(p: Params):
    """a project's BMD results of one method"""
    r = p.pick("results")
    return find("bmd_results", {"project_id": r["project_id"], "bmd_method": r["bmd_method"]},
                projection={"analysis_info": 0})


def results_by_experiment(p: Params):
    """the BMD results of one experiment"""
    return find("bmd_results", {"experiment_id": p.pick("results")["experiment_id"]},
                projection={"analysis_info": 0})


def results_by_prefilter(p: Params):
    """the BMD results computed from one prefilter"""
    return find("bmd_results", {"prefilter_id": p.pick("prefiltered")["prefilter_id"]},
                projection={"analysis_info": 0})


def jobs_by_user_status(p: Params):
    """a user's jobs in one status (the job monitor)"""
    j = p.pick("jobs")
    return find("jobs", {"user_id": j["user_id"], "status": j["status"]}, sort=[("created_at", -1)])


def jobs_by_project(p: Params):
    """a project's jobs"""
    return find("jobs", {"project_id": p.pick("jobs")["project_id"]})


def jobs_by_status(p: Params):
    """pending or running jobs (the queue)"""
    return find("jobs", {"status": p.rng.choice(("pending", "running"))}, sort=[("created_at", 1)], limit=50)


def recent_jobs(p: Params):
    """the 20 newest jobs"""
    return find("jobs", {}, projection={"parameters": 0}, sort=[("created_at", -1)], limit=20)


def job_created(p: Params):
    """an analysis job created (pending) on one of the user's projects"""
    project = p.pick("projects")
    doc = p.fresh("new_jobs", id=p.uuid(), user_id=project["user_id"], project_id=project["id"], status="pending",
                  progress=0.0, created_at=p.now())
    for key in ("started_at", "completed_at", "result_id", "error_message"):
        doc.pop(key, None)
    p.remember("bmd_jobs", doc["id"])
    return insert_one("jobs", doc)


def job_progress_updated(p: Params):
    """the worker reports a job's progress (running, then completed at 100)"""
    job = p.recent("bmd_jobs") or p.pick("running_jobs")["id"]
    progress = float(p.rng.choice((10, 25, 50, 75, 90, 100)))
    status = "completed" if progress == 100 else "running"
    return update_one("jobs", {"id": job}, {"$set": {"status": status, "progress": progress,
                                                     "message": f"{progress:.0f}% done"}})


WORKLOAD = Workload(system="bmd", sample=sample, operations=[
    Operation(user_login, sla_ms=50, freq="high", note="assumed: like seed 004's login; users_username_key"),
    Operation(project_list, sla_ms=100, freq="very high", note="assumed; idx_projects_user"),
    Operation(recent_projects, sla_ms=100, freq="low", note="assumed: an admin page; idx_projects_created"),
    Operation(experiments_by_project, sla_ms=100, freq="high", note="assumed; idx_experiments_project"),
    Operation(results_by_project_method, sla_ms=150, freq="high",
              note="assumed; idx_bmd_results_project with idx_bmd_results_method"),
    Operation(results_by_experiment, sla_ms=150, freq="medium", note="assumed; idx_bmd_results_experiment"),
    Operation(results_by_prefilter, sla_ms=150, freq="low", note="assumed; idx_bmd_results_prefilter"),
    Operation(jobs_by_user_status, sla_ms=100, freq="high", note="assumed; idx_jobs_user + idx_jobs_status"),
    Operation(jobs_by_project, sla_ms=100, freq="medium", note="assumed; idx_jobs_project"),
    Operation(jobs_by_status, sla_ms=200, freq="low", note="assumed: the worker's queue; idx_jobs_status"),
    Operation(recent_jobs, sla_ms=100, freq="medium", note="assumed: the dashboard; idx_jobs_created"),
    Operation(job_created, sla_ms=50, freq="medium", note="assumed: a single-row insert (the seed's jobs table)"),
    Operation(job_progress_updated, sla_ms=50, freq="high",
              note="assumed: update by the unique id (the seed's primary key); jobs this process created, else "
                   "loaded running jobs"),
])
BmdUser = WORKLOAD.locust_user()
