"""Train Lab's benchmarks: `python -m bench`, one module per figure (see bench/__main__.py)."""
