from __future__ import annotations

import os
from pathlib import Path

import pytest

from venvstacks.cache import (
    CacheEntry,
    clean_cache,
    compute_cache_info,
    compute_prune_victims,
    find_cache_dir,
    find_max_size,
    parse_size,
    prepare_cache_dir,
    prune_cache,
)
from venvstacks.errors import VenvStacksError

HOME = Path("/home/user")


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, "/home/user/.cache/venvstacks"),
        ("linux", {"XDG_CACHE_HOME": "/var/cache/me"}, "/var/cache/me/venvstacks"),
        ("linux", {"XDG_CACHE_HOME": "relative"}, "/home/user/.cache/venvstacks"),
        ("darwin", {"XDG_CACHE_HOME": "/x"}, "/home/user/Library/Caches/venvstacks"),
        ("win32", {"LOCALAPPDATA": "/appdata"}, "/appdata/venvstacks/Cache"),
        ("win32", {}, "/home/user/AppData/Local/venvstacks/Cache"),
        ("linux", {"VENVSTACKS_CACHE_DIR": "/ci/cache"}, "/ci/cache"),
        ("win32", {"VENVSTACKS_CACHE_DIR": "/ci/cache"}, "/ci/cache"),
    ],
)
def test_cache_dir_follows_the_platform(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert find_cache_dir(environ, platform, HOME) == Path(expected)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("2G", 2 << 30), ("500MiB", 500 << 20), ("3 kb", 3072), ("1T", 1 << 40)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_a_bad_size_bound_names_the_variable() -> None:
    with pytest.raises(VenvStacksError) as caught:
        find_max_size({"VENVSTACKS_CACHE_MAX_SIZE": "lots"})
    assert str(caught.value) == (
        "VENVSTACKS_CACHE_MAX_SIZE: 'lots' is not a size (examples: 2G, 500M, 1048576)"
    )
    assert find_max_size({}) == 2 << 30


def test_least_recently_used_entries_go_first() -> None:
    entries = [
        CacheEntry(Path("new"), 10, 300.0),
        CacheEntry(Path("old"), 10, 100.0),
        CacheEntry(Path("mid"), 10, 200.0),
    ]
    assert [e.path.name for e in compute_prune_victims(entries, 15)] == ["old", "mid"]
    assert compute_prune_victims(entries, 30) == []


def make_cache(root: Path) -> None:
    prepare_cache_dir(root)
    for index, name in enumerate(("aa/aa1.pyc", "bb/bb2.pyc", "cc/cc3.fail")):
        path = root / "pyc-v1" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100 * (name.endswith(".pyc")))
        os.utime(path, (1000 + index, 1000 + index))
    runtime = root / "runtimes-v1" / "abc" / "runtime" / "bin"
    runtime.mkdir(parents=True)
    (runtime / "python").write_bytes(b"y" * 1000)
    os.utime(root / "runtimes-v1" / "abc", (5000, 5000))


def test_info_prune_and_clean(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    make_cache(root)
    info = compute_cache_info(root)
    assert (info.bytecode_entries, info.bytecode_bytes) == (3, 200)
    assert (info.runtime_entries, info.runtime_bytes) == (1, 1000)
    assert prune_cache(root, 1100) == 100  # the oldest bytecode file
    assert not (root / "pyc-v1/aa/aa1.pyc").exists()
    assert (root / "pyc-v1/bb/bb2.pyc").exists()
    assert clean_cache(root).total_bytes == 1100
    assert compute_cache_info(root).total_bytes == 0
    assert (
        (root / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert compute_cache_info(tmp_path / "missing").total_bytes == 0
