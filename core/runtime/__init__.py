"""Runtime: the dispatcher that decides what trains next from the store (the one queue), and its slots:
this machine's warm worker processes or a Ray cluster's nodes, which run core.training.

May import: core.training, and everything below it.
"""
