from __future__ import annotations

import datetime as dt

import pytest

from venvstacks.errors import Problem
from venvstacks.spec.problems import describe_toml_value, render_toml_path, suggest


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("frameworks", 1, "requirements", 0), "frameworks[1].requirements[0]"),
        (("frameworks", 0, "package_indexes", "my.pkg"), 'frameworks[0].package_indexes."my.pkg"'),
        (("tool", "uv", "index", 2, "name"), "tool.uv.index[2].name"),
        ((), ""),
    ],
)
def test_toml_paths(loc: tuple[str | int, ...], expected: str) -> None:
    assert render_toml_path(loc) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "boolean true"),
        (3, "integer 3"),
        (1.5, "float 1.5"),
        ("x", "string 'x'"),
        ([1], "array"),
        ({}, "table"),
        (dt.date(2025, 1, 1), "date/time 2025-01-01"),
    ],
)
def test_toml_value_descriptions(value: object, expected: str) -> None:
    assert describe_toml_value(value) == expected


def test_suggestions() -> None:
    assert suggest("platfroms", ["platforms", "requirements"]) == " (did you mean 'platforms'?)"
    assert suggest("zzz", ["platforms"]) == ""


def test_problem_rendering() -> None:
    assert Problem("spec.toml", "bad", "a.b", "app-x").render() == "spec.toml: app-x: a.b: bad"
    assert Problem("spec.toml", "bad").render() == "spec.toml: bad"
