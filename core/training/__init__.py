"""Training: model builders, augmentation layers, fitting a run in a worker, the reporting callbacks,
halving, model reports, TensorFlow's thread setup.

The only code that imports Keras and TensorFlow (an import contract). May import: core.views, core.store,
core.domain, core.data, core.settings.
"""
