"""Make this checkout importable by the environment's Python from any folder: a `.pth` file in its
site-packages naming the project's root, so `.venv/bin/python -m core track ~/course/ex1.py` and a notebook
started with that Python find `core` and the `trainlab` client wherever the student works (README, "Your own
code"). Run by `make setup`; running it again changes nothing."""
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
link = Path(sysconfig.get_paths()["purelib"]) / "trainlab-project.pth"
link.write_text(f"{ROOT}\n")
print(f"{link} -> {ROOT}")
