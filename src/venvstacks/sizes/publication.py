"""Archive sizes from a publication's layer metadata, and the download to update from an earlier one.

Reads ``__venvstacks__/env_metadata/<layer>[-<platform>].json`` of an output
folder (see `venvstacks.publish.metadata`).  A layer needs downloading when
the earlier publication has no archive for it or one with other content
(``archive_hashes`` differ); archives are reproducible, so an unchanged layer
keeps its hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from venvstacks.errors import SizesError
from venvstacks.publish.metadata import METADATA_DIR
from venvstacks.sizes.model import ArchiveSize, Comparison, LayerUpdate


def load_published_layers(output_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Return the archive metadata of each layer published in *output_dir*, by layer name."""
    found: dict[str, list[dict[str, Any]]] = {}
    folder = output_dir / METADATA_DIR / "env_metadata"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SizesError(
                f"{path}: can't read published layer metadata ({exc}); publish again"
            ) from None
        if isinstance(data, dict) and "archive_name" in data and "layer_name" in data:
            found.setdefault(str(data["layer_name"]), []).append(data)
    return found


def compute_archive_sizes(published: Iterable[Mapping[str, Any]]) -> tuple[ArchiveSize, ...]:
    """Return the archives of one layer's metadata entries, by format then name."""
    sizes = {
        (str(m.get("archive_format", "")), str(m["archive_name"])): int(m.get("archive_size", 0))
        for m in published
    }
    return tuple(ArchiveSize(fmt, name, size) for (fmt, name), size in sorted(sizes.items()))


def compare_publications(
    layers: Iterable[str],
    current: Mapping[str, list[dict[str, Any]]],
    earlier: Mapping[str, list[dict[str, Any]]],
    earlier_dir: Path,
    current_dir: Path,
) -> Comparison:
    """Return what updating from the *earlier* publication to the *current* one downloads."""
    changed: list[LayerUpdate] = []
    unchanged: list[str] = []
    full = 0
    for name in layers:
        if name not in current:
            raise SizesError(
                f"{name}: not published in {current_dir}; run 'venvstacks publish' "
                "(or pass --output-dir) before comparing"
            )
        now = current[name][-1]
        full += int(now.get("archive_size", 0))
        before = earlier.get(name, [])
        if any(b.get("archive_hashes") == now.get("archive_hashes") for b in before):
            unchanged.append(name)
            continue
        changed.append(
            LayerUpdate(
                build_name=name,
                install_target=str(now["install_target"]),
                previous_install_target=str(before[-1]["install_target"]) if before else None,
                download_bytes=int(now.get("archive_size", 0)),
            )
        )
    return Comparison(
        earlier=earlier_dir,
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        download_bytes=sum(u.download_bytes for u in changed),
        full_download_bytes=full,
    )
