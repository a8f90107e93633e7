"""Data: the dataset catalog, the Keras cache, image folders, uploads, sampling and photos.

Reads files and arrays; knows nothing of runs. May import: core.settings.
"""
