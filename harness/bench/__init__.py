"""`harness bench`: run a workload (`harness.workload`) with Locust and judge it against its SLAs.

Importing this package imports neither Locust nor gevent: `locust_user` (the Locust adapter),
`runner` and `plugin` do, and only the commands that run load import them.
"""
