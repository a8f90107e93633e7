"""Domain: what a run, an architecture, an augmentation pipeline and a sweep are, and their checks.

Pure rules and specs: run config and its validation, the architecture registry and parameter
counts, augmentation specs, sweep specs and their expansion. May import: core.data (a config is
checked against its dataset's shape and size), core.settings. No Keras here: the
architectures' builders are in core/training/builders.py and the augmentation layers in
core/training/augmentation.py.
"""
