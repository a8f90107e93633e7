"""Report your own Keras training to Train Lab: `autolog()` once, or `TrainLabCallback()` in `fit`'s callbacks,
or run a script unchanged with `python -m core track my_script.py` (`python -m trainlab track` with only the
client). Training never waits on the reporting: it is sent from a thread of its own and kept in a spool file
while Train Lab cannot be reached. Keras is imported only when a callback or autolog is first used."""
__all__ = ["TrainLabCallback", "autolog"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # PEP 562: `import trainlab` (and `python -m trainlab sync`) stays light; Keras loads with the first use.
    if name == "TrainLabCallback":
        from trainlab.callback import TrainLabCallback

        return TrainLabCallback
    if name == "autolog":
        from trainlab.autolog import autolog

        return autolog
    raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
