"""BMD Express web (seed 001, PostgreSQL in the seed; its tables as collections) critical
queries as a Locust workload.

Seed 001 gives no SLAs: every target is an assumption scaled from seed 004's numbers. Each
query is what one of the seed's documented indexes exists for: project list and recent
projects, experiments and results by project, results by project and BMD method, by experiment
and by prefilter, jobs by user, project and status, and the recent-jobs page.
"""

from __future__ import annotations

from harness.bench import MongoUser, Params, critical, find

JOB_STATUS = ("pending", "running", "completed", "failed", "cancelled")


class BmdUser(MongoUser):
    system = "bmd"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("users", "users", ["id", "username", "email"])
        p.values("projects", "bmd_projects", ["id", "user_id"])
        p.values("results", "bmd_results", ["project_id", "bmd_method", "experiment_id"])
        p.values("prefiltered", "bmd_results", ["prefilter_id"], {"prefilter_id": {"$ne": None}})
        p.values("jobs", "jobs", ["user_id", "project_id", "status"], {"project_id": {"$ne": None}})

    @critical(sla_ms=50, freq="high", note="assumed: like seed 004's login; users_username_key")
    def user_login(self, p: Params):
        """find the user by username (login)"""
        return find("users", {"username": p.pick("users")["username"]}, limit=1)

    @critical(sla_ms=100, freq="very high", note="assumed; idx_projects_user")
    def project_list(self, p: Params):
        """a user's projects, newest first"""
        return find("bmd_projects", {"user_id": p.pick("projects")["user_id"]},
                    projection={"id": 1, "name": 1, "created_at": 1}, sort=[("created_at", -1)])

    @critical(sla_ms=100, freq="low", note="assumed: an admin page; idx_projects_created")
    def recent_projects(self, p: Params):
        """the 20 newest projects"""
        return find("bmd_projects", {}, projection={"id": 1, "name": 1, "user_id": 1}, sort=[("created_at", -1)],
                    limit=20)

    @critical(sla_ms=100, freq="high", note="assumed; idx_experiments_project")
    def experiments_by_project(self, p: Params):
        """a project's dose-response experiments"""
        return find("dose_response_experiments", {"project_id": p.pick("projects")["id"]},
                    projection={"expression_matrix_s3_key": 0})

    @critical(sla_ms=150, freq="high", note="assumed; idx_bmd_results_project with idx_bmd_results_method")
    def results_by_project_method(self, p: Params):
        """a project's BMD results of one method"""
        r = p.pick("results")
        return find("bmd_results", {"project_id": r["project_id"], "bmd_method": r["bmd_method"]},
                    projection={"analysis_info": 0})

    @critical(sla_ms=150, freq="medium", note="assumed; idx_bmd_results_experiment")
    def results_by_experiment(self, p: Params):
        """the BMD results of one experiment"""
        return find("bmd_results", {"experiment_id": p.pick("results")["experiment_id"]},
                    projection={"analysis_info": 0})

    @critical(sla_ms=150, freq="low", note="assumed; idx_bmd_results_prefilter")
    def results_by_prefilter(self, p: Params):
        """the BMD results computed from one prefilter"""
        return find("bmd_results", {"prefilter_id": p.pick("prefiltered")["prefilter_id"]},
                    projection={"analysis_info": 0})

    @critical(sla_ms=100, freq="high", note="assumed; idx_jobs_user + idx_jobs_status")
    def jobs_by_user_status(self, p: Params):
        """a user's jobs in one status (the job monitor)"""
        j = p.pick("jobs")
        return find("jobs", {"user_id": j["user_id"], "status": j["status"]}, sort=[("created_at", -1)])

    @critical(sla_ms=100, freq="medium", note="assumed; idx_jobs_project")
    def jobs_by_project(self, p: Params):
        """a project's jobs"""
        return find("jobs", {"project_id": p.pick("jobs")["project_id"]})

    @critical(sla_ms=200, freq="low", note="assumed: the worker's queue; idx_jobs_status")
    def jobs_by_status(self, p: Params):
        """pending or running jobs (the queue)"""
        return find("jobs", {"status": p.rng.choice(("pending", "running"))}, sort=[("created_at", 1)], limit=50)

    @critical(sla_ms=100, freq="medium", note="assumed: the dashboard; idx_jobs_created")
    def recent_jobs(self, p: Params):
        """the 20 newest jobs"""
        return find("jobs", {}, projection={"parameters": 0}, sort=[("created_at", -1)], limit=20)
