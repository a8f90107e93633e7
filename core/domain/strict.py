"""One schema per input: a dataclass's own annotations checked strictly by pydantic, and the first
error turned into the one-line message ("field: what is wrong; got …")."""
from __future__ import annotations

import json
import typing
from dataclasses import fields

# pydantic's error types in the words of a one-line message.
WORDS = {"bool_type": "must be true or false", "string_type": "must be text", "int_type": "must be a whole number",
          "float_type": "must be a number", "dict_type": "must be a mapping", "tuple_type": "must be a list",
          "list_type": "must be a list", "extra_forbidden": "is not a setting of {what} (check its spelling)"}


def strict_model(cls, name: str, **overrides):
    """A strict pydantic model (unknown keys forbidden) of dataclass `cls`'s fields and annotations;
    `overrides` replace the type of some fields (e.g. a field typed e.g. as a dataclass, given as JSON)."""
    from pydantic import ConfigDict, create_model

    hints = {**typing.get_type_hints(cls), **overrides}
    return create_model(name, __config__=ConfigDict(strict=True, extra="forbid"),
                        **{f.name: (hints[f.name], ...) for f in fields(cls)})


def first_error(model, data: dict, what: str, as_json: bool = False) -> tuple[str, str] | None:
    """(field, "what is wrong; got …") for the first value of `data` that `model` refuses, else None.

    `as_json` checks `data` as the JSON it came from (lists are then accepted for tuples)."""
    from pydantic import ValidationError

    try:
        model.model_validate_json(json.dumps(data)) if as_json else model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        # Drop the names pydantic gives the members of a union ("str", "dict[str,any]"): keep fields and indexes.
        name = ".".join(str(p) for p in error["loc"] if isinstance(p, int) or p in data or p == error["loc"][0])
        # pydantic's own message is not a template: a pattern's "{32}" in it must stay as it is.
        words = WORDS[error["type"]].format(what=what) if error["type"] in WORDS else \
            error["msg"][:1].lower() + error["msg"][1:]
        return name or "config", f"{words}; got {error['input']!r}"[:300]
    return None
