from __future__ import annotations

import gzip
import hashlib
import stat
import tarfile
import threading
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.deploy.stacks import FRAMEWORK, MTIME, SITE, add_tar_member, archive_layer, make_layers
from venvstacks.archives import ArchiveEntry, ArchiveFormat
from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.deploy.unpack import (
    UnpackStoppedError,
    compute_archive_format,
    compute_unpack_limit,
    render_limit,
    unpack_layer,
)
from venvstacks.errors import DeployError
from venvstacks.spec.naming import DeployedName, LayerKind

FORMATS: tuple[ArchiveFormat, ...] = ("tar.xz", "tar.zst", "tar.gz", "zip")


def _layer(archive: Path | str, unpacked_size: int | None = None) -> ManifestLayer:
    """Return the manifest entry of *archive* (size and sha256 from the file, when it exists)."""
    data = archive.read_bytes() if isinstance(archive, Path) else b""
    return ManifestLayer(
        kind=LayerKind.FRAMEWORK,
        layer_name="framework-x",
        install_target=DeployedName(FRAMEWORK),
        runtime_layer=DeployedName("cpython-3.11"),
        required_layers=(),
        launch_module=None,
        archive_name=archive.name if isinstance(archive, Path) else archive,
        archive_size=len(data),
        archive_sha256=hashlib.sha256(data).hexdigest(),
        unpacked_size=unpacked_size,
    )


def _framework_archive(tmp_path: Path, archive_format: ArchiveFormat, **kwargs: object) -> Path:
    layers = make_layers(tmp_path / "build")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir(exist_ok=True)
    return artifacts / archive_layer(layers[FRAMEWORK], artifacts, archive_format, **kwargs)  # type: ignore[arg-type]


def _dest(tmp_path: Path) -> Path:
    dest = tmp_path / "dest"
    dest.mkdir(exist_ok=True)
    return dest


def _unpack_error(archive: Path, dest: Path) -> str:
    with pytest.raises(DeployError) as info:
        unpack_layer(archive, _layer(archive), dest)
    return str(info.value)


@pytest.mark.parametrize("archive_format", FORMATS)
def test_unpacks_folders_files_and_symlinks(tmp_path: Path, archive_format: ArchiveFormat) -> None:
    script = ArchiveEntry(
        PurePosixPath("bin/tool"), "file", MTIME, executable=True, data=b"#!/bin/sh\n"
    )
    archive = _framework_archive(tmp_path, archive_format, extra=(script,))
    assert compute_archive_format(archive.name) == archive_format
    layer_dir = unpack_layer(archive, _layer(archive), _dest(tmp_path))
    assert layer_dir == tmp_path / "dest" / FRAMEWORK
    assert sorted(p.relative_to(layer_dir).as_posix() for p in layer_dir.rglob("*")) == sorted(
        [
            "bin",
            "bin/python",
            "bin/tool",
            "lib",
            str(Path(SITE).parent),
            SITE,
            f"{SITE}/xlib.py",
            "postinstall.py",
            "share",
            "share/venv",
            "share/venv/metadata",
            "share/venv/metadata/venvstacks_layer.json",
        ]
    )
    assert str((layer_dir / "bin/python").readlink()) == "../../cpython-3.11/bin/python"
    assert (layer_dir / SITE / "xlib.py").read_text() == "VALUE = 'framework-x v1'\n"
    assert (layer_dir / "bin/tool").stat().st_mode & 0o777 == 0o755
    assert (layer_dir / "postinstall.py").stat().st_mode & 0o777 == 0o644
    assert layer_dir.stat().st_mode & 0o777 == 0o755
    assert int((layer_dir / "postinstall.py").stat().st_mtime) == MTIME
    assert int((layer_dir / "share").stat().st_mtime) == MTIME


def test_zip_members_without_unix_modes(tmp_path: Path) -> None:
    archive = tmp_path / "framework-x@2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"{FRAMEWORK}/"), b"")
        zf.writestr(zipfile.ZipInfo(f"{FRAMEWORK}/Lib/x.py"), b"x = 1\n")  # implicit parent
    layer_dir = unpack_layer(archive, _layer(archive), _dest(tmp_path))
    assert (layer_dir / "Lib/x.py").read_bytes() == b"x = 1\n"
    assert (layer_dir / "Lib/x.py").stat().st_mode & 0o777 == 0o644


def _tar_info(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


@pytest.mark.parametrize(
    ("info", "detail"),
    [
        (_tar_info("/etc/evil"), "'/etc/evil' (an absolute path)"),
        (_tar_info(f"{FRAMEWORK}/../evil"), f"'{FRAMEWORK}/../evil' (a '..' component)"),
        (_tar_info("evil"), f"'evil' (outside the layer folder '{FRAMEWORK}')"),
        (
            _tar_info(f"{FRAMEWORK}/link", tarfile.LNKTYPE, f"{FRAMEWORK}/postinstall.py"),
            f"'{FRAMEWORK}/link' (a hard link)",
        ),
        (_tar_info(f"{FRAMEWORK}/null", tarfile.CHRTYPE), f"'{FRAMEWORK}/null' (a device file)"),
        (_tar_info(f"{FRAMEWORK}/disk", tarfile.BLKTYPE), f"'{FRAMEWORK}/disk' (a device file)"),
        (_tar_info(f"{FRAMEWORK}/pipe", tarfile.FIFOTYPE), f"'{FRAMEWORK}/pipe' (a FIFO)"),
        (
            _tar_info(f"{FRAMEWORK}/up", tarfile.SYMTYPE, "../../../etc"),
            f"'{FRAMEWORK}/up' (a symlink to '../../../etc', outside the deployment folder)",
        ),
        (
            _tar_info(f"{FRAMEWORK}/bin/python/x"),
            f"'{FRAMEWORK}/bin/python/x' (inside the symlink '{FRAMEWORK}/bin/python')",
        ),
    ],
)
def test_unsafe_tar_members(tmp_path: Path, info: tarfile.TarInfo, detail: str) -> None:
    archive = _framework_archive(tmp_path, "tar.gz")
    add_tar_member(archive, info, b"evil")
    dest = _dest(tmp_path)
    assert _unpack_error(archive, dest) == (
        f"{FRAMEWORK}: archive {archive.name} has an unsafe member {detail}; refusing to unpack it"
    )
    assert not (tmp_path / "etc").exists()
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("../evil", "'../evil' (a '..' component)"),
        ("/evil", "'/evil' (an absolute path)"),
    ],
)
def test_unsafe_zip_members(tmp_path: Path, name: str, detail: str) -> None:
    archive = _framework_archive(tmp_path, "zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    assert _unpack_error(archive, _dest(tmp_path)) == (
        f"{FRAMEWORK}: archive {archive.name} has an unsafe member {detail}; refusing to unpack it"
    )


def test_escaping_zip_symlink(tmp_path: Path) -> None:
    link = ArchiveEntry(PurePosixPath("lib/evil"), "symlink", MTIME, target="/etc")
    archive = _framework_archive(tmp_path, "zip", extra=(link,))
    assert _unpack_error(archive, _dest(tmp_path)) == (
        f"{FRAMEWORK}: archive {archive.name} has an unsafe member '{FRAMEWORK}/lib/evil' "
        "(a symlink to '/etc', outside the deployment folder); refusing to unpack it"
    )


@pytest.mark.parametrize("archive_format", FORMATS)
def test_truncated_archives(tmp_path: Path, archive_format: ArchiveFormat) -> None:
    archive = _framework_archive(tmp_path, archive_format)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    message = _unpack_error(archive, _dest(tmp_path))
    assert message.startswith(f"{FRAMEWORK}: archive {archive.name} can't be unpacked (")
    assert message.endswith("); download it again")


def test_empty_archive(tmp_path: Path) -> None:
    archive = tmp_path / "framework-x@2.tar.gz"
    with tarfile.open(archive, "w:gz"):
        pass
    assert _unpack_error(archive, tmp_path) == (
        f"{FRAMEWORK}: archive {archive.name} has no '{FRAMEWORK}' folder; publish it again"
    )


def test_unpacking_stops_when_asked(tmp_path: Path) -> None:
    archive = _framework_archive(tmp_path, "tar.gz")
    stop = threading.Event()
    stop.set()
    with pytest.raises(UnpackStoppedError):
        unpack_layer(archive, _layer(archive), _dest(tmp_path), stop=stop)


def test_nothing_is_written_through_existing_symlinks(tmp_path: Path) -> None:
    """What a case-insensitive file system could make of 'Lib' and 'lib': the writer refuses."""
    archive = _framework_archive(tmp_path, "tar.gz")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "postinstall.py").write_text("untouched")
    dest = _dest(tmp_path)
    (dest / FRAMEWORK).symlink_to(outside)
    assert _unpack_error(archive, dest) == (
        f"{FRAMEWORK}: archive {archive.name} can't be unpacked into {dest} "
        f"({dest / FRAMEWORK} is not a folder)"
    )
    (dest / FRAMEWORK).unlink()
    (dest / FRAMEWORK).mkdir()
    (dest / FRAMEWORK / "postinstall.py").symlink_to(outside / "postinstall.py")
    message = _unpack_error(archive, dest)
    assert message.startswith(
        f"{FRAMEWORK}: archive {archive.name} can't be unpacked into {dest} ("
    )
    assert (outside / "postinstall.py").read_text() == "untouched"
    assert sorted(p.name for p in outside.iterdir()) == ["postinstall.py"]


def _file_sizes(layer_dir: Path) -> int:
    return sum(p.stat().st_size for p in layer_dir.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("archive_format", FORMATS)
def test_unpacking_is_bounded_by_the_declared_size(
    tmp_path: Path, archive_format: ArchiveFormat
) -> None:
    archive = _framework_archive(tmp_path, archive_format)
    (tmp_path / "probe").mkdir()
    size = _file_sizes(unpack_layer(archive, _layer(archive), tmp_path / "probe"))
    dest = _dest(tmp_path)
    assert unpack_layer(archive, _layer(archive, size), dest) == dest / FRAMEWORK
    dest = tmp_path / "dest2"
    dest.mkdir()
    with pytest.raises(DeployError) as info:
        unpack_layer(archive, _layer(archive, size - 1), dest)
    assert str(info.value) == (
        f"{FRAMEWORK}: archive {archive.name} unpacks to more than the {size - 1} bytes its "
        "metadata declares (unpacked_size); refusing to unpack it"
    )
    assert list(dest.iterdir()) == []  # the partly unpacked layer is gone


def test_the_limit_without_unpacked_size() -> None:
    layer = _layer("x.tar.gz")
    assert compute_unpack_limit(layer) == 64 << 20
    big = ManifestLayer(**{**vars(layer), "archive_size": 1 << 20})
    assert compute_unpack_limit(big) == 100 << 20
    assert render_limit(big) == (
        "104857600 bytes (the limit without unpacked_size in the metadata: 100 times the "
        "archive's size, at least 64 MiB)"
    )
    assert compute_unpack_limit(_layer("x.tar.gz", 0)) == 0


def _zip_symlink(archive: Path, name: str, target: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(info, target, compress_type=zipfile.ZIP_DEFLATED)


def test_an_oversized_zip_symlink_target_is_refused_unread(tmp_path: Path) -> None:
    """10 MB of target compress to a few KB; only the first 4 KB + 1 byte are read."""
    archive = _framework_archive(tmp_path, "zip")
    _zip_symlink(archive, f"{FRAMEWORK}/lib/link", b"a/" * (5 << 20))
    assert archive.stat().st_size < 100_000
    dest = _dest(tmp_path)
    assert _unpack_error(archive, dest) == (
        f"{FRAMEWORK}: archive {archive.name} has an unsafe member '{FRAMEWORK}/lib/link' "
        "(a symlink target longer than 4096 bytes, more than a path can be); refusing to unpack it"
    )
    assert list(dest.iterdir()) == []


def test_a_zip_symlink_target_of_path_length_is_fine(tmp_path: Path) -> None:
    archive = _framework_archive(tmp_path, "zip")
    target = "/".join(["x" * 254] * 16)[:4096]
    _zip_symlink(archive, f"{FRAMEWORK}/lib/link", target.encode())
    layer_dir = unpack_layer(archive, _layer(archive), _dest(tmp_path))
    assert str((layer_dir / "lib/link").readlink()) == target


def test_an_oversized_tar_symlink_target_is_refused(tmp_path: Path) -> None:
    archive = _framework_archive(tmp_path, "tar.gz")
    info = tarfile.TarInfo(f"{FRAMEWORK}/lib/link")
    info.type, info.linkname = tarfile.SYMTYPE, "a/" * 2049
    add_tar_member(archive, info)
    assert _unpack_error(archive, _dest(tmp_path)) == (
        f"{FRAMEWORK}: archive {archive.name} has an unsafe member '{FRAMEWORK}/lib/link' "
        "(a symlink target longer than 4096 bytes, more than a path can be); refusing to unpack it"
    )


@pytest.mark.parametrize("archive_format", FORMATS)
def test_the_sha256_is_checked_while_unpacking(
    tmp_path: Path, archive_format: ArchiveFormat
) -> None:
    archive = _framework_archive(tmp_path, archive_format)
    layer = _layer(archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    with pytest.raises(DeployError) as info:
        unpack_layer(archive, layer, _dest(tmp_path))
    assert str(info.value) == (
        f"{FRAMEWORK}: archive {archive.name} has sha256 {hashlib.sha256(data).hexdigest()}, "
        f"the metadata says {layer.archive_sha256}; download it again"
    )


def test_bytes_after_the_tar_end_are_hashed_too(tmp_path: Path) -> None:
    # Trailing data no decompressor needs still changes the published sha256.
    archive = _framework_archive(tmp_path, "tar.gz")
    layer = _layer(archive)
    data = archive.read_bytes()
    gz = gzip.decompress(data)
    archive.write_bytes(gzip.compress(gz[:-1] + b"x", mtime=0))
    with pytest.raises(DeployError, match=r"has sha256 .* the metadata says"):
        unpack_layer(archive, layer, _dest(tmp_path))
