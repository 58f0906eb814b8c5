"""Build stamps: what went into a built layer, so unchanged layers are not rebuilt.

Beside each layer folder, ``<build name>.last-build.json`` records the inputs of
its last successful build.  A layer is rebuilt when its folder or stamp is
missing or any input differs.  The stamp is written only after the layer has
been swapped into place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from venvstacks.fs import write_json


def compute_stamp_path(build_dir: Path, build_name: str) -> Path:
    """Return where the stamp of layer *build_name* lives."""
    return build_dir / f"{build_name}.last-build.json"


def load_stamp(path: Path) -> dict[str, object] | None:
    """Read a stamp; None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_up_to_date(layer_dir: Path, stamp_path: Path, inputs: Mapping[str, object]) -> bool:
    """Whether the layer at *layer_dir* was built from exactly *inputs*."""
    return layer_dir.is_dir() and load_stamp(stamp_path) == {"inputs": dict(inputs)}


def write_stamp(stamp_path: Path, inputs: Mapping[str, object]) -> None:
    """Record *inputs* as those of the layer's last successful build."""
    write_json(stamp_path, {"inputs": dict(inputs)})
