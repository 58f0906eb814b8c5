"""Small published stacks for deploy tests: three fake layers, archived for real.

The runtime ``cpython-3.11`` is not a real runtime: its ``bin/python`` is a
two-line script running the interpreter that runs the tests (``exec -a "$0"``
keeps the path Python was started as, so a layered layer's ``bin/python``
symlink still finds its ``pyvenv.cfg``).  A symlink to that interpreter would
point outside the deployment folder, which deploy refuses.  The framework and
the application are layered layers with relative ``bin/python`` links to the
runtime, their ``venvstacks_layer.json`` written by the build's own functions,
and the real ``postinstall.py``.  Archives are written with
`venvstacks.archives` under fixed mtimes, so the same content gives the same
archive (and the same sha256) every time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venvstacks.archives import ArchiveEntry, ArchiveFormat, collect_entries, write_archive
from venvstacks.builder.layer_config import compute_layered_config, compute_runtime_config

POSTINSTALL = Path(__file__).parents[2] / "src/venvstacks/_injected/postinstall.py"
BASE_PYTHON = Path(sys.executable).resolve()  # the real interpreter behind any venv
PY_VERSION = ".".join(map(str, sys.version_info[:3]))
SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
CONFIG = "share/venv/metadata/venvstacks_layer.json"
MTIME = 1_700_000_000

RUNTIME, FRAMEWORK, APP = "cpython-3.11", "framework-x@2", "app-x@1"
SUFFIXES = {"tar.xz": ".tar.xz", "tar.zst": ".tar.zst", "tar.gz": ".tar.gz", "zip": ".zip"}

Layers = dict[str, Path]


def _write(path: Path, text: str, *, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)


def _common(layer: Path, config: dict[str, Any]) -> None:
    _write(layer / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(POSTINSTALL, layer / "postinstall.py")
    (layer / SITE).mkdir(parents=True, exist_ok=True)


def make_layers(root: Path, *, version: str = "v1") -> Layers:
    """Lay out the three layer folders under *root*; *version* changes the framework's module."""
    runtime = root / RUNTIME
    _write(
        runtime / "bin/python",
        f'#!/usr/bin/env bash\nexec -a "$0" {BASE_PYTHON} "$@"\n',
        executable=True,
    )
    _common(runtime, compute_runtime_config(PY_VERSION))

    framework = root / FRAMEWORK
    _common(framework, compute_layered_config(PY_VERSION, RUNTIME, []))
    (framework / "bin").mkdir()
    (framework / "bin/python").symlink_to(f"../../{RUNTIME}/bin/python")
    _write(framework / SITE / "xlib.py", f"VALUE = 'framework-x {version}'\n")

    app = root / APP
    _common(app, compute_layered_config(PY_VERSION, RUNTIME, [FRAMEWORK], launch_module="x_app"))
    (app / "bin").mkdir()
    (app / "bin/python").symlink_to(f"../../{RUNTIME}/bin/python")
    _write(app / SITE / "x_app.py", "import sys, xlib\nprint('app', xlib.VALUE, sys.prefix)\n")
    for path in root.rglob("*"):
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    return {RUNTIME: runtime, FRAMEWORK: framework, APP: app}


def archive_layer(
    layer_dir: Path,
    artifact_dir: Path,
    archive_format: ArchiveFormat = "tar.xz",
    *,
    extra: tuple[ArchiveEntry, ...] = (),
) -> str:
    """Archive one layer folder into *artifact_dir*; return the archive's name."""
    name = layer_dir.name + SUFFIXES[archive_format]
    entries = [*collect_entries(layer_dir), *extra]
    write_archive(
        sorted(entries, key=lambda e: e.name.parts),
        artifact_dir / name,
        root_name=layer_dir.name,
        archive_format=archive_format,
        mtime_clamp=MTIME,
        root_mtime=MTIME,
    )
    return name


def layer_metadata(artifact_dir: Path, install_target: str, archive_name: str) -> dict[str, Any]:
    """Return the manifest entry of one of the three layers, hashes taken from its archive."""
    data = (artifact_dir / archive_name).read_bytes()
    layer_name = install_target.split("@", maxsplit=1)[0]
    entry: dict[str, Any] = {
        "layer_name": layer_name,
        "install_target": install_target,
        "requirements_hash": "sha256:" + "0" * 64,
        "lock_version": 1,
        "locked_at": "2025-01-01T00:00:00+00:00",
        "runtime_layer": RUNTIME,
        "python_implementation": f"cpython@{PY_VERSION}",
        "bound_to_implementation": install_target == RUNTIME,
        "archive_build": 1,
        "archive_name": archive_name,
        "target_platform": "linux_x86_64",
        "archive_size": len(data),
        "archive_hashes": {"sha256": hashlib.sha256(data).hexdigest()},
        "some_future_field": {"ignored": True},
    }
    if install_target == FRAMEWORK:
        entry["required_layers"] = []
    if install_target == APP:
        entry["required_layers"] = [FRAMEWORK]
        entry["app_launch_module"] = "x_app"
        entry["app_launch_module_hash"] = "sha256:" + "1" * 64
    return entry


def write_manifest(artifact_dir: Path, manifest: dict[str, Any], tag: str = "") -> Path:
    """Write the stack manifest (``venvstacks[-<tag>].json``)."""
    path = artifact_dir / "__venvstacks__" / f"venvstacks{'-' + tag if tag else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path


def publish(
    root: Path,
    archive_format: ArchiveFormat = "tar.xz",
    *,
    version: str = "v1",
    tag: str = "",
    change: Callable[[Layers], None] | None = None,
) -> Path:
    """Make, archive and list the three layers; return the artifact folder ``root/artifacts``.

    *change* may edit the layer folders before they are archived.
    """
    build = root / f"build-{version}"
    if build.exists():
        shutil.rmtree(build)
    layers = make_layers(build, version=version)
    if change is not None:
        change(layers)
    artifact_dir = root / "artifacts"
    artifact_dir.mkdir(parents=True, exist_ok=True)
    entries = {
        name: layer_metadata(artifact_dir, name, archive_layer(path, artifact_dir, archive_format))
        for name, path in layers.items()
    }
    write_manifest(
        artifact_dir,
        {
            "layers": {
                "runtimes": [entries[RUNTIME]],
                "frameworks": [entries[FRAMEWORK]],
                "applications": [entries[APP]],
            }
        },
        tag,
    )
    return artifact_dir


def load_manifest(artifact_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (artifact_dir / "__venvstacks__/venvstacks.json").read_text(encoding="utf-8")
    )
    return data


def manifest_entry(manifest: dict[str, Any], install_target: str) -> dict[str, Any]:
    for layers in manifest["layers"].values():
        for entry in layers:
            if entry["install_target"] == install_target:
                return dict(entry)
    raise KeyError(install_target)


def rehash(artifact_dir: Path, install_target: str) -> None:
    """Make the manifest match the current bytes of a layer's archive (after crafting it)."""
    manifest = load_manifest(artifact_dir)
    for layers in manifest["layers"].values():
        for entry in layers:
            if entry["install_target"] == install_target:
                data = (artifact_dir / entry["archive_name"]).read_bytes()
                entry["archive_size"] = len(data)
                entry["archive_hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
    write_manifest(artifact_dir, manifest)


def add_tar_member(archive: Path, info: tarfile.TarInfo, data: bytes = b"") -> None:
    """Append a hand-made member to a ``.tar.gz`` archive (for members publish never writes)."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isreg() else None) for m in tar]  # type: ignore[union-attr]
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for member, content in members:
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
        info.size = len(data) if info.isreg() else 0
        tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


def snapshot(root: Path) -> dict[str, object]:
    """Every entry below *root*: folders, file bytes and symlink targets."""
    if not root.exists():
        return {}
    result: dict[str, object] = {}
    for folder, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(folder, name)
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                result[key] = ("symlink", str(path.readlink()))
            elif path.is_dir():
                result[key] = ("dir",)
            else:
                result[key] = ("file", path.read_bytes(), path.stat().st_mode & 0o777)
    return result
