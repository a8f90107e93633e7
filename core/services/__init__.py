"""Services: what pages and the CLI call: jobs, sweeps, estimates, liveness, and the pages' doors to
the lower layers: catalog (datasets), previews (the Augment page), models (the Models page).

The only door for user actions (submit, cancel, delete, queue, sweep), so the rules hold the same
everywhere. May import: core.runtime and everything below it.
"""
