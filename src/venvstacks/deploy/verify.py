"""Checking an archive against its published size before it is unpacked.

The size check is free, and it catches the common truncated download without
reading the file.  The sha256 is checked by `venvstacks.deploy.unpack` while
it unpacks, so an archive is read once.
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
    """Return the path of the layer's archive once its size matches the metadata.

    `venvstacks.deploy.unpack.unpack_layer` checks the sha256 as it reads.
    """
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
    except OSError as exc:
        raise DeployError(f"{label} can't be read ({exc.strerror})") from None
    return path
