"""The one family of refusals: every request Train Lab turns down raises a `Refusal` whose message is one
line naming the field (or limit) and the fix. Pages (pages/common/widgets.py `refusals`) and the CLI catch
this one class; anything else that escapes is a bug, shown as one line with a reference into the log."""
from __future__ import annotations


class Refusal(Exception):
    """A request refused, or a resource that cannot serve it now; str(error) is the one line to show."""
