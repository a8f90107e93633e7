"""Report your own Keras training to Train Lab: `autolog()` once, or `TrainLabCallback()` in `fit`'s callbacks,
or run a script unchanged with `python -m core track my_script.py`. Training never waits on the reporting:
it is sent from a thread of its own and kept in a spool file while Train Lab cannot be reached."""
from trainlab.autolog import autolog
from trainlab.callback import TrainLabCallback

__all__ = ["TrainLabCallback", "autolog"]
__version__ = "0.1.0"
