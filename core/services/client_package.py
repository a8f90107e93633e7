"""The `trainlab` client (the folder beside `core`) as a wheel, made in memory from its files, so the class's
server can hand it to a student's laptop that has no other network: `pip install http://<server>/client/<wheel>`.
A wheel is a zip with the package and a `.dist-info` folder (PEP 427); the client needs nothing but Python
and the student's own Keras, so there is nothing else to build."""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import re
import zipfile

from core.settings import PROJECT_ROOT

CLIENT = PROJECT_ROOT / "trainlab"
VERSION = re.search(r'__version__ = "([^"]+)"', (CLIENT / "__init__.py").read_text()).group(1)
WHEEL_NAME = f"trainlab-{VERSION}-py3-none-any.whl"
_INFO = f"trainlab-{VERSION}.dist-info"
_METADATA = f"""Metadata-Version: 2.1
Name: trainlab
Version: {VERSION}
Summary: Report your own Keras training to a Train Lab dashboard
Requires-Python: >=3.9
"""
_WHEEL = "Wheel-Version: 1.0\nGenerator: trainlab\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@functools.cache
def wheel() -> bytes:
    """The client's wheel (made once per process: the files cannot change while it serves)."""
    files = {f"trainlab/{p.name}": p.read_bytes() for p in sorted(CLIENT.glob("*.py"))}
    files[f"{_INFO}/METADATA"] = _METADATA.encode()
    files[f"{_INFO}/WHEEL"] = _WHEEL.encode()
    record = "\n".join([*(_record_line(n, d) for n, d in files.items()), f"{_INFO}/RECORD,,"]) + "\n"
    files[f"{_INFO}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
