"""Checking an archive against its published size and sha256 before it is unpacked.

The size is checked first: it is free, and it catches the common truncated
download without reading the whole file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.errors import DeployError


def compute_sha256(path: Path) -> str:
    """Return the bare hex sha256 of the file at *path*."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def verify_archive(artifact_dir: Path, layer: ManifestLayer) -> Path:
    """Return the path of the layer's archive once its size and sha256 match the metadata."""
    path = artifact_dir / layer.archive_name
    label = f"{layer.install_target}: archive {layer.archive_name}"
    if not path.is_file():
        raise DeployError(f"{label} is missing from {artifact_dir}; download it again")
    try:
        size = path.stat().st_size
        if size != layer.archive_size:
            raise DeployError(
                f"{label} has {size} bytes, the metadata says {layer.archive_size}; download it again"
            )
        digest = compute_sha256(path)
    except OSError as exc:
        raise DeployError(f"{label} can't be read ({exc.strerror})") from None
    if digest != layer.archive_sha256:
        raise DeployError(
            f"{label} has sha256 {digest}, the metadata says {layer.archive_sha256}; download it again"
        )
    return path
