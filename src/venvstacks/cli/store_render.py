"""How the ``venvstacks store`` commands print their results (text; ``--json`` dumps the models)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from venvstacks.cli.deploy_cmd import render_command
from venvstacks.fs import render_json
from venvstacks.store import (
    AddResult,
    GcResult,
    LayerFolderInfo,
    StoreApp,
    StoreListing,
    SwitchResult,
)


def render_size(size: int) -> str:
    """Render a byte count the way ``store list`` and ``store gc`` show it (``12.3 MB``)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":  # noqa: PLR2004 - decimal units
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover


def render_result_json(result: BaseModel) -> str:
    """Render any store result as JSON (the formats of ``docs/store.schema.json``)."""
    return render_json(result.model_dump(mode="json"))


def _apps(apps: Sequence[StoreApp], heading: str) -> list[str]:
    if not apps:
        return []
    return [heading, *(f"  {a.layer_name}: {render_command(a.command)}" for a in apps)]


def render_add_text(result: AddResult) -> str:
    """Render ``store add``: the release id, each layer stored or reused, the launch commands."""
    state = "current" if result.current else "not current"
    verb = "Added" if result.new_release else "Already in the store:"
    lines = [f"{verb} release {result.release} ({state}) in {result.store}"]
    width = max((len(n) for n in result.layers), default=0)
    lines += [
        f"  {name:<{width}}  {'stored' if name in result.stored else 'reused'}"
        for name in result.layers
    ]
    lines += _apps(result.applications, "Launch the applications with:")
    return "\n".join(lines) + "\n"


def render_switch_text(result: SwitchResult) -> str:
    """Render ``store switch`` / ``store rollback``."""
    target = f" (rollback returns to {result.rollback_target})" if result.rollback_target else ""
    lines = [f"Release {result.current} is current{target}"]
    lines += _apps(result.applications, "Launch the applications with:")
    return "\n".join(lines) + "\n"


def _folder_line(folder: LayerFolderInfo, width: int) -> str:
    used = ", ".join(map(str, folder.releases)) or "no release"
    incomplete = "" if folder.complete else ", incomplete"
    return f"  {folder.folder:<{width}}  {render_size(folder.size):>10}  ({used}{incomplete})"


def render_list_text(listing: StoreListing) -> str:
    """Render ``store list``: releases with their layers, layer folders, current apps."""
    lines = [f"Store {listing.store}"]
    if not listing.releases:
        lines.append("No releases; add one with 'venvstacks store add ARTIFACT_DIR'")
    else:
        lines.append("Releases:")
    for release in listing.releases:
        marks = [
            mark
            for mark, on in (
                ("current", release.current),
                ("rollback target", release.rollback_target),
                ("pinned", release.pinned),
            )
            if on
        ]
        suffix = f"  [{', '.join(marks)}]" if marks else ""
        lines.append(f"  {release.id}  added {release.added_at}{suffix}")
        lines.append(f"      {', '.join(la.install_target for la in release.layers)}")
    if listing.layer_folders:
        width = max(len(f.folder) for f in listing.layer_folders)
        lines.append("Layer folders:")
        lines += [_folder_line(f, width) for f in listing.layer_folders]
    lines += _apps(listing.applications, "Launch the current applications with:")
    return "\n".join(lines) + "\n"


def render_gc_text(result: GcResult) -> str:
    """Render ``store gc``: the releases and folders removed and the space freed."""
    verb = "Would remove" if result.dry_run else "Removed"
    kept = ", ".join(map(str, result.kept_releases)) or "none"
    removed = ", ".join(map(str, result.removed_releases)) or "none"
    lines = [f"Kept releases: {kept}", f"{verb} releases: {removed}"]
    if result.removed_folders:
        width = max(len(f.folder) for f in result.removed_folders)
        lines.append(f"{verb} layer folders:")
        lines += [_folder_line(f, width) for f in result.removed_folders]
    freed = "would free" if result.dry_run else "freed"
    lines.append(f"{render_size(result.freed)} {freed}")
    return "\n".join(lines) + "\n"
