"""Runtime: the job queue (Huey, SQLite) and the worker pool that runs core.training in its processes.

May import: core.training, and everything below it.
"""
