from __future__ import annotations

import pytest

from venvstacks.spec.naming import (
    BuildName,
    LayerKind,
    LayerName,
    compute_build_name,
    compute_deployed_name,
    compute_lock_group,
)


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (LayerKind.RUNTIME, "cpython-3.11", "cpython-3.11"),
        (LayerKind.FRAMEWORK, "torch", "framework-torch"),
        (LayerKind.APPLICATION, "chat", "app-chat"),
        (LayerKind.FRAMEWORK, "layerF@1", "framework-layerF@1"),
    ],
)
def test_build_names(kind: LayerKind, name: str, expected: str) -> None:
    assert compute_build_name(kind, LayerName(name)) == expected


@pytest.mark.parametrize(
    ("versioned", "version", "expected"),
    [
        (False, None, "app-chat"),
        (False, 7, "app-chat"),
        (True, 3, "app-chat@3"),
        (True, None, "app-chat@???"),
    ],
)
def test_deployed_names(versioned: bool, version: int | None, expected: str) -> None:
    assert (
        compute_deployed_name(BuildName("app-chat"), versioned=versioned, lock_version=version)
        == expected
    )


def test_lock_group_replaces_dots() -> None:
    assert compute_lock_group(BuildName("cpython-3.11")) == "cpython-3_11"
    assert compute_lock_group(BuildName("framework-a.b.c")) == "framework-a_b_c"
