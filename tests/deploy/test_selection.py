from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from venvstacks.deploy.manifest import Manifest, parse_manifest
from venvstacks.deploy.selection import select_layers
from venvstacks.errors import DeployError

PATH = Path("/artifacts/__venvstacks__/venvstacks.json")


def _entry(
    install_target: str, runtime: str = "rt", required: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "layer_name": install_target.split("@", maxsplit=1)[0],
        "install_target": install_target,
        "runtime_layer": runtime,
        "required_layers": list(required),
        "archive_name": f"{install_target}.zip",
        "archive_size": 1,
        "archive_hashes": {"sha256": "0" * 64},
    }


def _manifest(**kinds: list[dict[str, Any]]) -> Manifest:
    return parse_manifest(PATH, json.dumps({"layers": kinds}))


STACK = _manifest(
    runtimes=[_entry("rt"), _entry("rt2", "rt2")],
    frameworks=[
        _entry("framework-a@1"),
        _entry("framework-b", required=("framework-a@1",)),
        _entry("framework-c", "rt2"),
    ],
    applications=[
        _entry("app-x@3", required=("framework-b", "framework-a@1")),
        _entry("app-y"),
        _entry("app-z", "rt2", ("framework-c",)),
    ],
)


def _names(patterns: tuple[str, ...]) -> list[str]:
    return [layer.install_target for layer in select_layers(STACK, patterns)]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (
            (),
            [
                "rt",
                "rt2",
                "framework-a@1",
                "framework-b",
                "framework-c",
                "app-x@3",
                "app-y",
                "app-z",
            ],
        ),
        (("app-x",), ["rt", "framework-a@1", "framework-b", "app-x@3"]),  # build name
        (("app-x@3",), ["rt", "framework-a@1", "framework-b", "app-x@3"]),  # deployed name
        (("app-y",), ["rt", "app-y"]),
        (("app-[yz]",), ["rt", "rt2", "framework-c", "app-y", "app-z"]),
        (("framework-b", "rt2"), ["rt", "rt2", "framework-a@1", "framework-b"]),
        (("rt",), ["rt"]),
    ],
)
def test_chosen_layers_bring_what_they_run_on(
    patterns: tuple[str, ...], expected: list[str]
) -> None:
    assert _names(patterns) == expected


def test_patterns_matching_nothing() -> None:
    with pytest.raises(DeployError) as info:
        select_layers(STACK, ["app-*", "nope", "app-q"])
    assert str(info.value) == (
        f"no layers in {PATH} match 'nope', 'app-q' (layers are: rt, rt2, framework-a, "
        "framework-b, framework-c, app-x, app-y, app-z)"
    )


def test_dependencies_missing_from_the_manifest() -> None:
    manifest = _manifest(
        applications=[_entry("app-x@1", required=("framework-a@1",))], runtimes=[_entry("rt")]
    )
    with pytest.raises(DeployError) as info:
        select_layers(manifest)
    assert str(info.value) == (
        "app-x@1: runs on framework-a@1, which venvstacks.json does not list; "
        "publish the layers it runs on as well"
    )


def test_dependencies_of_the_wrong_kind() -> None:
    manifest = _manifest(
        runtimes=[_entry("rt")], applications=[_entry("app-x"), _entry("app-y", "app-x")]
    )
    assert [la.install_target for la in select_layers(manifest, ["app-x"])] == ["rt", "app-x"]
    with pytest.raises(DeployError) as info:
        select_layers(manifest, ["app-y"])
    assert str(info.value) == (
        "app-y: runs on app-x, which venvstacks.json lists as an application, not a runtime; "
        "publish the stack again"
    )
