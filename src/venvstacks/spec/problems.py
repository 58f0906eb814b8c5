"""Turn pydantic validation errors into located, one-line `Problem` values.

Pydantic reports an error location as a tuple such as
``("frameworks", 1, "requirements", 0)``; users see the TOML path
``frameworks[1].requirements[0]`` and a message written for them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from venvstacks.errors import Problem

Location = Sequence[int | str]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def render_toml_key(key: str) -> str:
    """Render a table key as TOML: bare when possible, else quoted (``"my.pkg"``)."""
    return key if _BARE_KEY.fullmatch(key) else f'"{key}"'


def render_toml_path(loc: Location) -> str:
    """Render a location tuple as a TOML path (``frameworks[1].package_indexes."a.b"``)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = render_toml_key(part)
            text += f".{key}" if text else key
    return text


def describe_toml_value(value: object) -> str:
    """Describe a value by its TOML type, for 'expected X, got Y' messages."""
    # bool before int: bool is a subclass of int.
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        ((dt.datetime, dt.date, dt.time), "date/time"),
        ((list, tuple), "array"),
        (dict, "table"),
    ]
    for kind, noun in kinds:
        if isinstance(value, kind):
            if isinstance(value, (list, tuple, dict)):
                return noun
            shown = repr(value) if isinstance(value, str) else str(value)
            shown = shown.lower() if isinstance(value, bool) else shown
            return f"{noun} {shown}"
    return type(value).__name__


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return a ``did you mean`` hint for *word*, or an empty string."""
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _message(error: ErrorDetails, valid_keys: Callable[[Location], Iterable[str]]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key {key!r}{suggest(key, valid_keys(loc[:-1]))}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe_toml_value(error['input'])}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return error["msg"]


def problems_from_validation_error(
    exc: ValidationError,
    *,
    file: str,
    prefix: Location = (),
    layer_of: Callable[[Location], str] = lambda _loc: "",
    valid_keys: Callable[[Location], Iterable[str]] = lambda _loc: (),
) -> list[Problem]:
    """Return one `Problem` per pydantic error, located by TOML path.

    *prefix* is prepended to every location (``("tool", "uv")`` for an inline uv
    table); *layer_of* names the layer a location belongs to; *valid_keys* lists
    the keys allowed at a location, for "did you mean" hints.
    """
    problems = []
    for error in exc.errors(include_url=False):
        loc: tuple[Any, ...] = tuple(error["loc"])
        problems.append(
            Problem(
                file=file,
                where=render_toml_path((*prefix, *loc)),
                layer=layer_of(loc),
                message=_message(error, valid_keys),
            )
        )
    return problems
