"""How the ``venvstacks store`` commands print their results."""

from __future__ import annotations

from venvstacks.cli.store_render import render_gc_text, render_list_text, render_size
from venvstacks.store import (
    GcResult,
    LayerFolderInfo,
    ReleaseInfo,
    ReleaseLayer,
    StoreApp,
    StoreListing,
)

APP = StoreApp(
    layer_name="app-x",
    install_target="app-x@1",
    launch_module="x_app",
    command=("/s/current/app-x/bin/python", "-m", "x_app"),
    exact_command=("/s/layers/ab-app-x@1/app-x@1/bin/python", "-m", "x_app"),
)
FOLDER = LayerFolderInfo(
    folder="ab-app-x@1", install_target="app-x@1", size=8123, complete=True, releases=(2,)
)
LAYER = ReleaseLayer(
    layer_name="app-x",
    install_target="app-x@1",
    kind="applications",
    key="sha256:ab",
    folder="ab-app-x@1",
    archive_sha256="sha256:cd",
    launch_module="x_app",
)


def test_sizes() -> None:
    assert [render_size(n) for n in (0, 999, 1000, 123_456_789, 5 * 10**12)] == [
        "0 bytes",
        "999 bytes",
        "1.0 kB",
        "123.5 MB",
        "5000.0 GB",
    ]


def test_list() -> None:
    releases = tuple(
        ReleaseInfo(
            id=i,
            added_at="2026-12-01T22:00:00Z",
            manifest="/a/__venvstacks__/venvstacks.json",
            current=i == 2,
            rollback_target=i == 1,
            pinned=i == 1,
            layers=(LAYER,),
        )
        for i in (1, 2)
    )
    listing = StoreListing(
        store="/s",
        current=2,
        rollback_target=1,
        releases=releases,
        layer_folders=(
            FOLDER,
            FOLDER.model_copy(update={"folder": "cd-x", "complete": False, "releases": ()}),
        ),
        applications=(APP,),
    )
    assert render_list_text(listing) == (
        "Store /s\n"
        "Releases:\n"
        "  1  added 2026-12-01T22:00:00Z  [rollback target, pinned]\n"
        "      app-x@1\n"
        "  2  added 2026-12-01T22:00:00Z  [current]\n"
        "      app-x@1\n"
        "Layer folders:\n"
        "  ab-app-x@1      8.1 kB  (2)\n"
        "  cd-x            8.1 kB  (no release, incomplete)\n"
        "Launch the current applications with:\n"
        "  app-x: /s/current/app-x/bin/python -m x_app\n"
    )


def test_gc() -> None:
    result = GcResult(
        store="/s",
        dry_run=False,
        kept_releases=(2, 3),
        removed_releases=(1,),
        removed_folders=(FOLDER,),
        freed=8123,
    )
    assert render_gc_text(result) == (
        "Kept releases: 2, 3\n"
        "Removed releases: 1\n"
        "Removed layer folders:\n"
        "  ab-app-x@1      8.1 kB  (2)\n"
        "8.1 kB freed\n"
    )
