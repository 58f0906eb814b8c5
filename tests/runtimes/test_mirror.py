from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from venvstacks.errors import RuntimeSourceError
from venvstacks.runtimes.mirror import (
    find_mirror_archives,
    render_downloads_json,
    select_archive,
)
from venvstacks.runtimes.requests import parse_runtime_request

LINUX = "x86_64-unknown-linux-gnu"


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(name.encode())


def test_mirror_keeps_newest_build_and_prefers_stripped(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        f"cpython-3.11.7+20240101-{LINUX}-install_only.tar.gz",
        f"cpython-3.11.7+20240107-{LINUX}-install_only.tar.gz",
        f"cpython-3.11.7+20240107-{LINUX}-install_only_stripped.tar.gz",
        f"cpython-3.12.1+local-{LINUX}-install_only.tar.gz",
        "cpython-3.12.1+local-aarch64-apple-darwin-install_only.tar.gz",
        "notes.txt",
    )
    (tmp_path / f"cpython-3.10.0+x-{LINUX}-install_only.tar.gz").mkdir()  # folders are ignored
    names = [a.path.name for a in find_mirror_archives(tmp_path)]
    assert names == [
        f"cpython-3.11.7+20240107-{LINUX}-install_only_stripped.tar.gz",
        "cpython-3.12.1+local-aarch64-apple-darwin-install_only.tar.gz",
        f"cpython-3.12.1+local-{LINUX}-install_only.tar.gz",
    ]


def test_downloads_json_has_uv_entry_shape(tmp_path: Path) -> None:
    name = f"cpython-3.12.1+local-{LINUX}-install_only.tar.gz"
    _touch(tmp_path, name)
    entries = json.loads(render_downloads_json(find_mirror_archives(tmp_path)))
    assert entries == {
        "cpython-3.12.1-linux-x86_64-gnu": {
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": None},
            "os": "linux",
            "libc": "gnu",
            "major": 3,
            "minor": 12,
            "patch": 1,
            "prerelease": "",
            "url": (tmp_path / name).resolve().as_uri(),
            "sha256": hashlib.sha256(name.encode()).hexdigest(),
            "variant": None,
            "build": "local",
        }
    }


def test_select_archive_picks_newest_matching(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        f"cpython-3.11.5+a-{LINUX}-install_only.tar.gz",
        f"cpython-3.11.7+a-{LINUX}-install_only.tar.gz",
        f"cpython-3.12.1+a-{LINUX}-install_only.tar.gz",
    )
    archives = find_mirror_archives(tmp_path)
    chosen = select_archive(
        archives, parse_runtime_request("cpython@3.11"), host_triple=LINUX, folder=tmp_path
    )
    assert chosen.name.filename == f"cpython-3.11.7+a-{LINUX}-install_only.tar.gz"


def test_missing_version_lists_what_the_mirror_has(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        f"cpython-3.11.7+a-{LINUX}-install_only.tar.gz",
        f"cpython-3.12.1+a-{LINUX}-install_only.tar.gz",
        "cpython-3.10.2+a-aarch64-apple-darwin-install_only.tar.gz",
    )
    with pytest.raises(RuntimeSourceError) as caught:
        select_archive(
            find_mirror_archives(tmp_path),
            parse_runtime_request("cpython@3.13"),
            host_triple=LINUX,
            folder=tmp_path,
        )
    assert str(caught.value) == (
        f"python mirror {tmp_path}: no cpython@3.13 archive for {LINUX} (it has 3.11.7, 3.12.1); "
        f"add one, e.g. with 'venvstacks python pack --output-dir {tmp_path}'"
    )


def test_empty_mirror(tmp_path: Path) -> None:
    with pytest.raises(RuntimeSourceError, match=r"\(it has none for this platform\)"):
        select_archive(
            (), parse_runtime_request("cpython@3.13"), host_triple=LINUX, folder=tmp_path
        )


def test_mirror_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeSourceError) as caught:
        find_mirror_archives(tmp_path / "missing")
    assert str(caught.value) == (
        f"python mirror {tmp_path / 'missing'}: not a folder; pass --python-mirror a folder of "
        "python-build-standalone 'install_only' archives (fill one with 'venvstacks python pack')"
    )
