"""Bytecode through the cache: same bytes as ``compileall``, hits linked, damage detected."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from venvstacks.builder import _pyc_worker
from venvstacks.builder.bytecode import BytecodeStats, compile_layer, compute_dfile, find_sources
from venvstacks.errors import BuildError
from venvstacks.tools._subprocess import Completed

PYTHON = Path(sys.executable)
TAG = sys.implementation.cache_tag


def make_layer(root: Path) -> Path:
    site = root / "lib/python/site-packages"
    (site / "pkg/sub").mkdir(parents=True)
    (site / "pkg/__init__.py").write_text("VALUE = {'a', 'b', 'c'}\n")
    (site / "pkg/sub/mod.py").write_text("# coding: latin-1\nNAME = 'caf\xe9'\n", "latin-1")
    (site / "pkg/warns.py").write_text("PATTERN = '\\d'\n")  # a SyntaxWarning, still compiles
    (site / "pkg/broken.py").write_text("def f(:\n")
    (site / "top.py").write_text("import pkg\n")
    (site / "pkg/__pycache__").mkdir()
    (site / "pkg/__pycache__/stale.py").write_text("x = 1\n")  # never compiled
    (site / "data.txt").write_text("not python\n")
    return site


def pyc_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}


def compileall(layer: Path, site: Path) -> None:
    subprocess.run(
        [
            PYTHON, "-I", "-B", "-W", "ignore", "-m", "compileall", "-q", "-q",
            "--invalidation-mode", "unchecked-hash", "-s", layer, "-p", "framework-x", site,
        ],
        check=False,
    )  # fmt: skip


@pytest.fixture
def reference(tmp_path: Path) -> dict[str, bytes]:
    """Return what ``compileall`` writes for the test layer (the behaviour before the cache)."""
    layer = tmp_path / "reference" / ".framework-x.staging"
    site = make_layer(layer)
    compileall(layer, site)
    return pyc_files(layer)


def test_finds_what_compileall_compiles(tmp_path: Path) -> None:
    site = make_layer(tmp_path)
    (site / "linked.py").symlink_to(site / "top.py")
    (site / "linked_dir").symlink_to(site / "pkg")
    found = [p.relative_to(site).as_posix() for p in find_sources([site, tmp_path / "missing"])]
    assert found == [
        "linked.py", "pkg/__init__.py", "pkg/broken.py", "pkg/sub/mod.py", "pkg/warns.py",
        "top.py",
    ]  # fmt: skip


def test_recorded_path_starts_at_the_prefix(tmp_path: Path) -> None:
    source = tmp_path / ".x.staging/lib/a.py"
    assert compute_dfile(source, tmp_path / ".x.staging", "x") == str(Path("x", "lib", "a.py"))


def test_no_cache_gives_compileall_bytes(tmp_path: Path, reference: dict[str, bytes]) -> None:
    layer = tmp_path / "layer" / ".framework-x.staging"
    site = make_layer(layer)
    stats = compile_layer(PYTHON, layer, [site], prefix="framework-x")
    assert stats == BytecodeStats(hits=0, compiled=4, failed=1)
    assert pyc_files(layer) == reference


def test_a_warm_cache_compiles_nothing_and_links_the_same_bytes(
    tmp_path: Path, reference: dict[str, bytes]
) -> None:
    cache = tmp_path / "cache"
    first = tmp_path / "first" / ".framework-x.staging"
    site = make_layer(first)
    assert compile_layer(PYTHON, first, [site], prefix="framework-x", cache=cache) == (
        BytecodeStats(hits=0, compiled=4, failed=1)
    )
    second = tmp_path / "second" / ".framework-x.staging"
    site = make_layer(second)
    # Several workers, as for a big layer.
    stats = compile_layer(PYTHON, second, [site], prefix="framework-x", cache=cache, workers=2)
    assert stats == BytecodeStats(hits=4, compiled=0, failed=1)
    assert pyc_files(first) == pyc_files(second) == reference
    linked = site / "__pycache__" / f"top.{TAG}.pyc"
    assert linked.stat().st_nlink == 3  # the cache entry and both layers
    assert not list(second.rglob("*.link"))  # no temporary names left behind
    # Compiling again over linked files changes nothing.
    assert compile_layer(PYTHON, second, [site], prefix="framework-x", cache=cache).hits == 4
    assert pyc_files(second) == reference


def test_another_prefix_is_another_entry(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for prefix in ("framework-x", "framework-y"):
        layer = tmp_path / prefix
        site = make_layer(layer)
        assert compile_layer(PYTHON, layer, [site], prefix=prefix, cache=cache).compiled == 4


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda _data: b"", id="empty"),
        pytest.param(lambda data: data[:8] + bytes(8) + data[16:], id="wrong-source-hash"),
        pytest.param(lambda data: b"\0\0\0\0" + data[4:], id="wrong-magic"),
    ],
)
def test_a_damaged_entry_is_compiled_again_and_replaced(
    tmp_path: Path, reference: dict[str, bytes], damage: object
) -> None:
    cache = tmp_path / "cache"
    first = tmp_path / "first" / ".framework-x.staging"
    compile_layer(PYTHON, first, [make_layer(first)], prefix="framework-x", cache=cache)
    shutil.rmtree(first)  # the layer's links must not keep the old bytes alive in the test
    entries = sorted(cache.rglob("*.pyc"))
    assert len(entries) == 4
    victim = entries[0]
    assert callable(damage)
    data = victim.read_bytes()
    victim.write_bytes(damage(data))
    second = tmp_path / "second" / ".framework-x.staging"
    stats = compile_layer(PYTHON, second, [make_layer(second)], prefix="framework-x", cache=cache)
    assert stats == BytecodeStats(hits=3, compiled=1, failed=1)
    assert pyc_files(second) == reference
    assert victim.read_bytes() == data


def test_a_missing_or_unusable_cache_still_gives_the_layer_its_bytecode(
    tmp_path: Path, reference: dict[str, bytes]
) -> None:
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("in the way\n")
    layer = tmp_path / "layer" / ".framework-x.staging"
    stats = compile_layer(
        PYTHON, layer, [make_layer(layer)], prefix="framework-x", cache=not_a_folder
    )
    assert stats == BytecodeStats(hits=0, compiled=4, failed=1)
    assert pyc_files(layer) == reference


def test_unchanged_sources_of_a_changed_layer_come_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = tmp_path / "first" / ".framework-x.staging"
    compile_layer(PYTHON, first, [make_layer(first)], prefix="framework-x", cache=cache)
    second = tmp_path / "second" / ".framework-x.staging"
    site = make_layer(second)
    (site / "top.py").write_text("import pkg  # edited\n")
    stats = compile_layer(PYTHON, second, [site], prefix="framework-x", cache=cache)
    assert stats == BytecodeStats(hits=3, compiled=1, failed=1)


def test_pyc_checks() -> None:
    source = b"x = 1\n"
    data = _pyc_worker.render_pyc(source, "lay/x.py")
    assert _pyc_worker.is_valid_pyc(data, source)
    assert not _pyc_worker.is_valid_pyc(data, b"x = 2\n")
    assert not _pyc_worker.is_valid_pyc(data[:-1], source)
    assert not _pyc_worker.is_valid_pyc(data[:16], source)
    key = _pyc_worker.compute_key("tag", "lay/x.py", source)
    assert key != _pyc_worker.compute_key("tag", "lay/y.py", source)
    assert key != _pyc_worker.compute_key("tag2", "lay/x.py", source)
    assert key != _pyc_worker.compute_key("ta", "glay/x.py", source)


class BrokenInterpreter:
    def __call__(
        self,
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,  # noqa: ARG002 - the Runner signature
        cwd: Path | None = None,  # noqa: ARG002
        check: bool = True,  # noqa: ARG002
        failure: str = "",  # noqa: ARG002
    ) -> Completed:
        return Completed(tuple(str(a) for a in args), -9, "", "Killed")


def test_an_interpreter_that_dies_is_a_build_error(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    with pytest.raises(BuildError) as caught:
        compile_layer(PYTHON, layer, [make_layer(layer)], prefix="framework-x",
                      runner=BrokenInterpreter())  # fmt: skip
    assert str(caught.value) == (
        "framework-x: compiling the layer's bytecode failed (its interpreter did not finish); "
        "run with -v to see its output"
    )
    assert caught.value.output == "Killed"


def test_nothing_to_compile_runs_nothing(tmp_path: Path) -> None:
    runner = BrokenInterpreter()
    assert compile_layer(PYTHON, tmp_path, [tmp_path / "missing"], runner=runner) == (
        BytecodeStats()
    )
