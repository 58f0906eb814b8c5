"""Planning a layer's archive metadata (`compute_archive_request`), for real runs and dry runs.

Uses the quickstart stack's committed locks; nothing is built or written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.publish.metadata import (
    ARCHIVE_ONLY_FIELDS,
    compute_archive_request,
    compute_dry_run_request,
)
from venvstacks.spec.load import load_stack_spec

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def app() -> tuple[LayerLockStatus, list[LayerLockStatus]]:
    """Return the quickstart's ``app-scipy-import`` and the layers it runs on."""
    spec = load_stack_spec(REPO / "venvstacks.toml")
    statuses = compute_stack_lock_status(spec)
    layer = next(layer for layer in spec.graph if layer.build_name == "app-scipy-import")
    return statuses[layer.build_name], [
        statuses[d.build_name] for d in spec.graph.dependencies(layer)
    ]


def plan(
    app: tuple[LayerLockStatus, list[LayerLockStatus]],
    previous: dict[str, Any] | None = None,
    **changes: Any,
) -> tuple[dict[str, Any], bool]:
    arguments: dict[str, Any] = {
        "platform": "linux_x86_64",
        "archive_format": "tar.xz",
        "tag_outputs": True,
        "layer_inputs_hash": "sha256:inputs",
        "previous": previous,
        "previous_archive_size": None if previous is None else previous.get("archive_size"),
    }
    return compute_archive_request(*app, **{**arguments, **changes})


def published(request: dict[str, Any]) -> dict[str, Any]:
    """Return the metadata a publication writes for *request*."""
    return {
        **request,
        "archive_size": 1234,
        "archive_hashes": {"sha256": "00"},
        "build_tools": {},
        "unpacked_size": 4321,
    }


def test_first_publication(app: tuple[LayerLockStatus, list[LayerLockStatus]]) -> None:
    request, rebuild = plan(app)
    assert rebuild
    assert request == {
        "app_launch_module": "scipy_import",
        "app_launch_module_hash": app[0].module_hashes["launch_modules/scipy_import.py"],
        "archive_build": 1,
        "archive_format": "tar.xz",
        "archive_name": "app-scipy-import-linux_x86_64-1.tar.xz",
        "bound_to_implementation": False,
        "install_target": "app-scipy-import",
        "layer_inputs_hash": "sha256:inputs",
        "layer_name": "app-scipy-import",
        "lock_version": 1,
        "locked_at": "2025-10-01T00:00:00+00:00",
        "python_implementation": "cpython@3.11",
        "required_layers": ["framework-scipy"],
        "requirements_hash": app[0].stored.requirements_hash if app[0].stored else None,
        "runtime_layer": "cpython-3.11",
        "target_platform": "linux_x86_64",
    }


def test_unchanged_layer_keeps_its_metadata(
    app: tuple[LayerLockStatus, list[LayerLockStatus]],
) -> None:
    previous = published(plan(app)[0])
    assert plan(app, previous) == (previous, False)
    # A dry run of an unbuilt layer can't compare the build inputs: the rest decides.
    assert plan(app, previous, layer_inputs_hash=None) == (previous, False)
    # Published before `unpacked_size` existed: archived again to record it.
    older = {k: v for k, v in previous.items() if k != "unpacked_size"}
    assert plan(app, older)[1]


@pytest.mark.parametrize(
    "changes",
    [
        {"force": True},
        {"layer_inputs_hash": "sha256:rebuilt"},
        {"previous_archive_size": None},  # the archive is gone
        {"previous_archive_size": 99},  # or it is another file
    ],
)
def test_changed_layer_gets_the_next_build(
    app: tuple[LayerLockStatus, list[LayerLockStatus]], changes: dict[str, Any]
) -> None:
    previous = published(plan(app)[0])
    request, rebuild = plan(app, previous, **changes)
    assert rebuild
    assert (request["archive_build"], request["archive_name"]) == (
        2, "app-scipy-import-linux_x86_64-2.tar.xz",
    )  # fmt: skip
    assert not {"archive_size", "archive_hashes", "build_tools"} & set(request)


def test_new_lock_version_starts_again_at_build_1(
    app: tuple[LayerLockStatus, list[LayerLockStatus]],
) -> None:
    previous = {**published(plan(app)[0]), "lock_version": 7, "archive_build": 4}
    request, rebuild = plan(app, previous)
    assert (rebuild, request["archive_build"]) == (True, 1)


def test_other_format_untagged(app: tuple[LayerLockStatus, list[LayerLockStatus]]) -> None:
    previous = published(plan(app, tag_outputs=False)[0])
    request, rebuild = plan(app, previous, tag_outputs=False, archive_format="zip")
    assert (rebuild, request["archive_name"], request["archive_build"]) == (
        True, "app-scipy-import.zip", 2,
    )  # fmt: skip


def test_dry_run_request_leaves_out_archive_only_fields(
    app: tuple[LayerLockStatus, list[LayerLockStatus]],
) -> None:
    metadata = {**published(plan(app)[0]), **dict.fromkeys(ARCHIVE_ONLY_FIELDS, 1)}
    request = compute_dry_run_request(metadata)
    assert set(metadata) - set(request) == set(ARCHIVE_ONLY_FIELDS)
    assert request == plan(app, layer_inputs_hash=None)[0]
