from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.deploy.verify import verify_archive
from venvstacks.errors import DeployError
from venvstacks.spec.naming import DeployedName, LayerKind

DATA = b"archive bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def _layer(size: int = len(DATA), sha: str = SHA) -> ManifestLayer:
    return ManifestLayer(
        kind=LayerKind.FRAMEWORK,
        layer_name="framework-x",
        install_target=DeployedName("framework-x@2"),
        runtime_layer=DeployedName("rt"),
        required_layers=(),
        launch_module=None,
        archive_name="framework-x@2.tar.xz",
        archive_size=size,
        archive_sha256=sha,
    )


def _error(tmp_path: Path, layer: ManifestLayer) -> str:
    with pytest.raises(DeployError) as info:
        verify_archive(tmp_path, layer)
    return str(info.value)


def test_matching_archive(tmp_path: Path) -> None:
    (tmp_path / "framework-x@2.tar.xz").write_bytes(DATA)
    assert verify_archive(tmp_path, _layer()) == tmp_path / "framework-x@2.tar.xz"


def test_missing_archive(tmp_path: Path) -> None:
    assert _error(tmp_path, _layer()) == (
        f"framework-x@2: archive framework-x@2.tar.xz is missing from {tmp_path}; download it again"
    )


def test_size_is_checked_first(tmp_path: Path) -> None:
    (tmp_path / "framework-x@2.tar.xz").write_bytes(DATA[:-1])
    assert _error(tmp_path, _layer()) == (
        "framework-x@2: archive framework-x@2.tar.xz has 12 bytes, the metadata says 13; "
        "download it again"
    )


def test_the_sha256_is_left_to_unpacking(tmp_path: Path) -> None:
    # Reading the archive here too would read it twice; unpack_layer checks the sha256.
    (tmp_path / "framework-x@2.tar.xz").write_bytes(b"archive bytez")
    assert verify_archive(tmp_path, _layer()) == tmp_path / "framework-x@2.tar.xz"
