"""Build stamps: what went into a built layer, so unchanged layers are not rebuilt.

Each built layer carries its stamp inside its folder (``.last-build.json``, a
hidden name, so it is never published or exported) and beside it
(``<build name>.last-build.json``).  The inner stamp is written into the staged
folder before the swap, so it moves with the folder and can never describe
another one; the outer one is removed before the swap and written after it.
A layer counts as built from some inputs only when both stamps record them, so
a run killed at any point never leaves a stamp claiming a layer that is not
fully in place (`recover_build_folder` then rewrites the outer stamp from the
inner one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from venvstacks.fs import Recovery, recover_swaps, remove_leftovers, replace_tree, write_json

INNER_STAMP_NAME = ".last-build.json"
_STAMP_SUFFIX = ".last-build.json"


def compute_stamp_path(build_dir: Path, build_name: str) -> Path:
    """Return where the stamp of layer *build_name* lives beside its folder."""
    return build_dir / f"{build_name}{_STAMP_SUFFIX}"


def load_stamp(path: Path) -> dict[str, object] | None:
    """Read a stamp; None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_layer_stamp(build_dir: Path, build_name: str) -> dict[str, object] | None:
    """Return the stamp of the layer built at ``build_dir/build_name``, if both copies agree."""
    inner = load_stamp(build_dir / build_name / INNER_STAMP_NAME)
    if inner is None or load_stamp(compute_stamp_path(build_dir, build_name)) != inner:
        return None
    return inner


def is_up_to_date(build_dir: Path, build_name: str, inputs: Mapping[str, object]) -> bool:
    """Whether the layer built at ``build_dir/build_name`` was built from exactly *inputs*."""
    return load_layer_stamp(build_dir, build_name) == {"inputs": dict(inputs)}


def write_stamp(stamp_path: Path, inputs: Mapping[str, object]) -> None:
    """Record *inputs* as those of a layer's last successful build."""
    write_json(stamp_path, {"inputs": dict(inputs)})


def install_layer(staging: Path, final: Path, inputs: Mapping[str, object] | None) -> None:
    """Swap the finished layer folder *staging* in as *final*, stamped with *inputs*.

    Without *inputs* (a runtime installed only for locking) the layer gets no
    stamp, so a later build builds it properly.
    """
    if inputs is not None:
        write_stamp(staging / INNER_STAMP_NAME, inputs)
    outer = compute_stamp_path(final.parent, final.name)
    outer.unlink(missing_ok=True)
    replace_tree(staging, final)
    if inputs is not None:
        write_stamp(outer, inputs)


def recover_build_folder(build_dir: Path) -> Recovery:
    """Repair a build folder after a killed run (see `venvstacks.fs.recover_swaps`).

    Then each outer stamp is made to agree with its layer folder: rewritten from
    the inner stamp when the kill came between the swap and the outer write,
    removed when no folder with an inner stamp backs it.
    """
    recovery = recover_swaps(build_dir)
    if not build_dir.is_dir():
        return recovery
    completed: list[str] = []
    stale: list[Path] = []
    for layer_dir in sorted(p for p in build_dir.iterdir() if p.is_dir()):
        if layer_dir.name.startswith("."):
            continue
        inner = load_stamp(layer_dir / INNER_STAMP_NAME)
        outer = compute_stamp_path(build_dir, layer_dir.name)
        if inner is not None and load_stamp(outer) != inner:
            write_json(outer, inner)
            completed.append(f"the stamp of {layer_dir.name}")
    for outer in sorted(build_dir.glob(f"*{_STAMP_SUFFIX}")):
        name = outer.name.removesuffix(_STAMP_SUFFIX)
        if load_stamp(build_dir / name / INNER_STAMP_NAME) is None:
            stale.append(outer)
    return recovery.merge(Recovery(build_dir, completed=tuple(completed))).merge(
        remove_leftovers(build_dir, stale)
    )
