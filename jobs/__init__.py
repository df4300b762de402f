"""Recurring and background jobs on a worker engine (README "Jobs").

`catalogue` names every job and its schedule and runs one over the domains' `jobs.py`;
`worker` registers them with procrastinate on PostgreSQL (`netkeep worker`); `inprocess` runs
the same functions on a thread of `netkeep serve` on SQLite; `engines.queue_for` picks one.
"""
