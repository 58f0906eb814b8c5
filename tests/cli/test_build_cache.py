"""Builds through the venvstacks cache, end to end: warm cache, damage, removal, waves.

Offline, on a stack whose three frameworks form one dependency wave.  The
cache folder is the test's own (``VENVSTACKS_CACHE_DIR``), not the session's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_build import launch
from tests.cli.test_lock import venvstacks
from tests.cli.test_publish import tree_bytes
from tests.wheel_factory import make_wheel
from venvstacks.builder.stack import BuiltLayer
from venvstacks.pipeline import BuildOptions, build_stack

pytestmark = pytest.mark.slow

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []

[[frameworks]]
name = "one"
runtime = "cpython-3.11"
requirements = ["alpha"]

[[frameworks]]
name = "two"
runtime = "cpython-3.11"
requirements = ["gamma"]

[[frameworks]]
name = "fine"
runtime = "cpython-3.11"
requirements = ["beta"]

[[applications]]
name = "app"
launch_module = "launch/app.py"
frameworks = ["one"]
requirements = ["alpha"]
"""
LAYERS = ("cpython-3.11", "framework-one", "framework-two", "framework-fine", "app-app")
# alpha and gamma refuse to import when BREAK_IMPORTS is set: their layers' import checks fail.
BREAKABLE = b"import os\nif os.environ.get('BREAK_IMPORTS'):\n    raise ImportError('broken on purpose')\n__version__ = '1.0'\n"
STATS = re.compile(r"^(\S+): bytecode: (\d+) files from the cache, (\d+) compiled", re.MULTILINE)


@pytest.fixture
def project(tmp_path: Path, python_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VENVSTACKS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    wheels = root / "wheels"
    make_wheel(wheels, "alpha", "1.0", requires=["beta"], init=BREAKABLE)
    make_wheel(wheels, "beta", "1.0")
    make_wheel(wheels, "gamma", "1.0", init=BREAKABLE)
    (root / "launch").mkdir(parents=True)
    (root / "launch" / "app.py").write_text("import alpha\nprint('app', alpha.__version__)\n")
    (root / "venvstacks.toml").write_text(SPEC)
    run_ok(root, "lock", "--python-mirror", str(python_mirror))
    return root


def run_ok(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def cold_build(project: Path, mirror: Path, *args: str) -> dict[str, tuple[int, int]]:
    """Build from an empty build folder; return each layer's (cache hits, compiled) counts."""
    shutil.rmtree(project / "_build", ignore_errors=True)
    proc = subprocess.run(
        [*venvstacks_cmd(), "-v", "build", str(project), "--python-mirror", str(mirror), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    return {name: (int(hits), int(done)) for name, hits, done in STATS.findall(proc.stderr)}


def venvstacks_cmd() -> list[str]:
    import sys  # noqa: PLC0415

    return [sys.executable, "-m", "venvstacks"]


def publish(project: Path, output: Path) -> dict[str, bytes]:
    run_ok(project, "publish", "--output-dir", str(output), "--format", "tar.zst")
    return tree_bytes(output)


def test_a_warm_cache_compiles_nothing_and_changes_no_byte(
    project: Path, python_mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    # The reference: no cache at all (nothing is read from it or written to it).
    before = sorted(cache.rglob("*"))  # locking installed the runtime through the cache
    stats = cold_build(project, python_mirror, "--no-cache")
    assert set(stats) == set(LAYERS)
    assert all(hits == 0 and compiled > 0 for hits, compiled in stats.values())
    assert sorted(cache.rglob("*")) == before
    reference = publish(project, tmp_path / "reference")

    cold_build(project, python_mirror)  # fills the cache
    stats = cold_build(project, python_mirror)
    assert all(compiled == 0 and hits > 0 for hits, compiled in stats.values()), stats
    # The runtime's files are links to the extracted copy in the cache (but not
    # bin/ and site-packages, where the build writes).
    runtime = project / "_build/cpython-3.11"
    assert (runtime / "lib/python3.11/os.py").stat().st_nlink >= 2
    assert (runtime / "bin/python3.11").stat().st_nlink == 1
    assert publish(project, tmp_path / "warm") == reference
    # (Running the built app writes sitecustomize's bytecode: only after publishing.)
    assert launch(project / "_build" / "app-app") == "app 1.0\n"

    # Damaged entries are found and compiled again; a broken runtime entry is extracted again.
    victims = sorted((cache / "pyc-v1").rglob("*.pyc"))[:3]
    for victim in victims:
        victim.write_bytes(victim.read_bytes()[:20])
    (runtime_entry,) = (cache / "runtimes-v1").iterdir()
    (runtime_entry / "runtime/bin/python3.11").unlink()  # the entry no longer runs
    stats = cold_build(project, python_mirror)
    assert sum(compiled for _, compiled in stats.values()) == len(victims)
    assert publish(project, tmp_path / "repaired") == reference

    # The cache disappears while the build runs (here: once the runtime is built).
    shutil.rmtree(project / "_build")
    events: list[str] = []

    class RemoveCacheAfterRuntime:
        def layer_started(self, build_name: str) -> None:
            events.append(f"start {build_name}")

        def layer_finished(self, layer: BuiltLayer) -> None:
            events.append(f"done {layer.build_name}")
            if layer.build_name == "cpython-3.11":
                shutil.rmtree(cache)

        def layer_failed(self, build_name: str) -> None:
            events.append(f"failed {build_name}")

    build_stack(
        project / "venvstacks.toml",
        BuildOptions(python_mirror=python_mirror),
        RemoveCacheAfterRuntime(),
    )
    # The three frameworks form one wave: all three start before any of them ends.
    assert events[:2] == ["start cpython-3.11", "done cpython-3.11"]
    assert sorted(events[2:5]) == ["start framework-fine", "start framework-one",
                                   "start framework-two"]  # fmt: skip
    assert events[-2:] == ["start app-app", "done app-app"]
    assert publish(project, tmp_path / "removed") == reference


def test_every_failing_layer_of_a_wave_is_reported_and_nothing_above_is_built(
    project: Path, python_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ok(project, "build", "--python-mirror", str(python_mirror))
    before = {name: (project / "_build" / name / "postinstall.py").stat() for name in LAYERS}
    monkeypatch.setenv("BREAK_IMPORTS", "1")
    proc = venvstacks(project, "build", "--python-mirror", str(python_mirror), "--clean",
                      "--include", "framework-*", "--include", "app-*")  # fmt: skip
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        (
            "error: framework-one: importing the layer's packages failed: "
            "alpha (ImportError: broken on purpose)"
        )
    ]
    two = "framework-two: importing the layer's packages failed: gamma (ImportError: broken on purpose)"
    assert two in proc.stderr.splitlines()
    lines = proc.stdout.splitlines()
    assert "framework-one: failed" in lines
    assert "framework-two: failed" in lines
    assert any(line.startswith("framework-fine: built (") for line in lines)
    assert not any(line.startswith("app-app") for line in lines)
    # The failed layers and the app keep their previous builds.
    for name in ("framework-one", "framework-two", "app-app"):
        after = (project / "_build" / name / "postinstall.py").stat()
        assert after.st_ino == before[name].st_ino
    monkeypatch.delenv("BREAK_IMPORTS")
    assert launch(project / "_build" / "app-app") == "app 1.0\n"
