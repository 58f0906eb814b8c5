"""Shared fixtures: writing spec files, loading them, and golden-file comparison."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from venvstacks.errors import SpecError
from venvstacks.spec.load import StackSpec, load_stack_spec

TESTS_DIR = Path(__file__).parent
GOLDEN_DIR = TESTS_DIR / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files under tests/golden/ from the current output (review the diff!)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail a whole-suite run when a ``test_*.py`` file contributes no collected test.

    pytest silently skips some folder names (``build``, ``dist``, dot-folders) and
    modules whose tests are all misnamed; a test file that never runs must be loud.
    Deselection (``-m``, ``-k``) happens after this point, so it is not a finding.
    """
    if session.config.args != [str(TESTS_DIR)] and session.config.args != ["tests"]:
        return
    collected = {Path(str(item.path)).resolve() for item in session.items}
    collected |= {Path(str(item.path)).resolve() for item in _deselected(session)}
    silent = sorted(
        path.relative_to(TESTS_DIR.parent).as_posix()
        for path in TESTS_DIR.rglob("test_*.py")
        if path.resolve() not in collected
    )
    if silent:
        raise pytest.UsageError(
            "test files that contribute no collected test (a folder pytest skips, or no "
            "test functions): " + ", ".join(silent)
        )


def _deselected(session: pytest.Session) -> list[pytest.Item]:
    return list(getattr(session.config, "_venvstacks_deselected", []))


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Remember deselected items: they were collected, so their files count as running."""
    config = items[0].config if items else None
    if config is not None:
        kept = getattr(config, "_venvstacks_deselected", [])
        kept.extend(items)
        config._venvstacks_deselected = kept  # type: ignore[attr-defined]


@pytest.fixture(scope="session", autouse=True)
def _venvstacks_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Builds in tests share one cache of their own, never the user's (entries are
    # content-addressed, so sharing never changes a result); tests of the cache
    # itself point it elsewhere.  Session-scoped, so that module-scoped fixtures
    # that build see it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VENVSTACKS_CACHE_DIR", str(tmp_path_factory.mktemp("venvstacks-cache")))
        yield


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with ``tests/golden/<name>``, or rewrite it with ``--update-golden``."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, actual: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert actual == path.read_text(encoding="utf-8")

    return check


WriteSpec = Callable[..., Path]
Load = Callable[..., StackSpec]
Problems = Callable[..., list[str]]


@pytest.fixture
def write_spec(tmp_path: Path) -> WriteSpec:
    """Write a ``venvstacks.toml`` (dedented) plus any extra files into a temp project."""

    def write(text: str, files: dict[str, str] | None = None) -> Path:
        for name, content in (files or {}).items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        spec = tmp_path / "venvstacks.toml"
        spec.write_text(textwrap.dedent(text), encoding="utf-8")
        return spec

    return write


@pytest.fixture
def load(write_spec: WriteSpec) -> Load:
    """Write and load a spec, returning the `StackSpec`."""

    def run(text: str, files: dict[str, str] | None = None) -> StackSpec:
        return load_stack_spec(write_spec(text, files))

    return run


@pytest.fixture
def problems(write_spec: WriteSpec) -> Problems:
    """Write and load a spec that must fail; return its problems as rendered lines.

    The temp folder is replaced by ``SPEC`` so expected lines stay short.
    """

    def run(text: str, files: dict[str, str] | None = None) -> list[str]:
        path = write_spec(text, files)
        with pytest.raises(SpecError) as caught:
            load_stack_spec(path)
        return [p.render().replace(str(path), "SPEC") for p in caught.value.problems]

    return run


@pytest.fixture(scope="session")
def python_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a mirror folder holding this machine's CPython 3.11 and 3.12 (packed once per session)."""
    from tests.runtimes.local_pythons import PACK_VERSIONS, pack_into  # noqa: PLC0415

    mirror = tmp_path_factory.mktemp("python-mirror")
    for minor in PACK_VERSIONS:
        pack_into(minor, mirror)
    return mirror
