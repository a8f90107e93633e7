"""Training: model builders, fitting a run in a worker, the reporting callbacks, halving, model reports.

The code that imports Keras and TensorFlow to train. May import: core.views, core.store,
core.domain, core.data, core.settings.
"""
