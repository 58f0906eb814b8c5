"""The links derived from the store's record: ``releases/<id>/`` and ``current``.

They are rebuilt from ``store.json`` by every store command (`sync_views`), so
a command killed after committing the record is finished by the next one.  A
release folder is built beside its final name and renamed into place, and
``current`` is replaced by a rename, so a launcher following
``STORE/current/<app>/bin/python`` always finds a complete release.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from venvstacks.store.layout import StoreLayout
from venvstacks.store.links import make_folder_link, read_current, read_link, write_current
from venvstacks.store.state import Release, StoreState


def compute_release_links(release: Release) -> dict[str, str]:
    """Return the links of a release folder: build name -> ``../../layers/<folder>/<deployed name>``."""
    return {
        layer.layer_name: f"../../layers/{layer.folder}/{layer.install_target}"
        for layer in release.layers
    }


def _points_to(path: Path, target: str) -> bool:
    found = read_link(path)
    if found is None:
        return False
    return os.path.normpath(path.parent / found) == os.path.normpath(path.parent / target)


def _release_complete(folder: Path, links: dict[str, str]) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return False
    names = {entry.name for entry in folder.iterdir()}
    return names == set(links) and all(_points_to(folder / n, t) for n, t in links.items())


def discard(layout: StoreLayout, path: Path) -> None:
    """Delete *path*: first renamed into ``.trash/`` (atomic), then deleted from there.

    A command killed while deleting leaves the folder in the trash, never half
    of it under its name; the next command empties the trash.
    """
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    layout.trash.mkdir(exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=f"{path.name}.", dir=layout.trash))
    path.rename(aside / path.name)
    shutil.rmtree(aside)
    with contextlib.suppress(OSError):  # another folder may still be on its way out
        layout.trash.rmdir()


def empty_trash(layout: StoreLayout) -> bool:
    """Delete what a killed command left in ``.trash/``; return whether there was anything."""
    if not layout.trash.exists():
        return False
    had_entries = any(layout.trash.iterdir())
    shutil.rmtree(layout.trash)
    return had_entries


def _build_release(layout: StoreLayout, release: Release) -> None:
    links = compute_release_links(release)
    final = layout.release_dir(release.id)
    if _release_complete(final, links):
        return
    discard(layout, final)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=layout.releases))
    tmp.chmod(0o755)  # mkdtemp makes it private; launchers of any user read it
    for name, target in sorted(links.items()):
        make_folder_link(tmp / name, target, final_dir=final)
    tmp.rename(final)


def sync_views(layout: StoreLayout, state: StoreState, *, pointer: bool) -> None:
    """Make ``releases/`` and ``current`` match the record *state*.

    Release folders the record does not list (and unfinished ``.tmp-*`` ones)
    are deleted, missing or damaged ones are built, then ``current`` is pointed
    at the current release.
    """
    wanted = {str(release.id) for release in state.releases}
    if layout.releases.is_dir():
        for entry in sorted(layout.releases.iterdir()):
            if entry.name not in wanted:
                discard(layout, entry)
    elif state.releases:
        layout.releases.mkdir()
    for release in state.releases:
        _build_release(layout, release)
    if state.current is None:
        discard(layout, layout.current)
    elif read_current(layout.current, pointer=pointer) != state.current:
        write_current(layout.current, state.current, pointer=pointer)
