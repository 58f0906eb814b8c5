"""``venvstacks build`` end to end: lock, build, deploy by the documented procedure, move, run.

Offline: local wheels from tests/wheel_factory.py and runtimes from the packed
mirror.  Publishing is not implemented yet, so "unpacking" copies each built
layer under its deployed name, leaving out what archives leave out
(``pyvenv.cfg``, ``sitecustomize.py``, hidden top-level entries); post-install
then points each layer at the layers beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_lock import PYPI_SPEC, SPEC, make_wheels, venvstacks
from tests.wheel_factory import make_wheel
from venvstacks.locks import LOCK_FILE_NAMES

pytestmark = pytest.mark.slow

CONFIG = Path("share/venv/metadata/venvstacks_layer.json")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    make_wheels(root / "wheels")
    (root / "launch").mkdir(parents=True)
    (root / "launch" / "app.py").write_text(
        "import alpha, beta, gamma\nprint('app', alpha.__version__, beta.__version__, gamma.__version__)\n"
    )
    (root / "venvstacks.toml").write_text(SPEC)
    return root


def build(project: Path, mirror: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, "build", "--python-mirror", str(mirror), *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def lock_and_build(project: Path, mirror: Path) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, "lock", "--python-mirror", str(mirror))
    assert proc.returncode == 0, proc.stderr
    return build(project, mirror)


def deployed_names(project: Path) -> dict[str, str]:
    data = json.loads(venvstacks(project, "show", "--json").stdout)
    return {
        layer["name"]: layer["install_target"]
        for kind in ("runtimes", "frameworks", "applications")
        for layer in data[kind]
    }


def deploy(project: Path, target: Path) -> dict[str, str]:
    """Unpack every layer into *target* under its deployed name, then run post-install, runtime first.

    Returns the deployed name of each layer.
    """
    names = deployed_names(project)
    for build_name, deployed in names.items():
        shutil.copytree(
            project / "_build" / build_name,
            target / deployed,
            symlinks=True,
            ignore=shutil.ignore_patterns("pyvenv.cfg", "sitecustomize.py", ".lock"),
        )
    for deployed in names.values():  # dict order is the spec order: runtime first
        run_postinstall(target / deployed)
    return names


def run_postinstall(layer: Path) -> None:
    config = json.loads((layer / CONFIG).read_text())
    base_python = layer / config["base_python"]
    subprocess.run([base_python, "-X", "utf8", "-I", layer / "postinstall.py"], check=True)


def launch(app: Path) -> str:
    config = json.loads((app / CONFIG).read_text())
    proc = subprocess.run(
        [app / config["python"], "-m", config["launch_module"]],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_build_deploy_move_and_run(project: Path, python_mirror: Path, tmp_path: Path) -> None:
    proc = lock_and_build(project, python_mirror)
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == [
        "cpython-3.11", "framework-base", "framework-upper", "app-app",
    ]  # fmt: skip
    assert all(": built (" in line for line in proc.stdout.splitlines())
    # The build itself runs.
    assert launch(project / "_build" / "app-app") == "app 1.0 1.0 1.0\n"
    # Every .py has its bytecode already, with no build path in it.
    site = project / "_build" / "framework-upper" / "lib/python3.11/site-packages"
    assert (site / "alpha/__pycache__/__init__.cpython-311.pyc").exists()
    assert not list(site.glob("*.dist-info/uv_cache.json"))

    deployed = tmp_path / "deployed"
    deploy(project, deployed)
    shutil.rmtree(project / "_build")  # nothing may still point into the build folder
    assert launch(deployed / "app-app@1") == "app 1.0 1.0 1.0\n"
    assert not list(deployed.rglob("__pycache__/*.cpython-311.pyc.*"))  # nothing compiled on deploy

    moved = tmp_path / "moved" / "elsewhere"
    moved.parent.mkdir()
    deployed.rename(moved)
    for layer in ("framework-base", "framework-upper@1", "app-app@1"):
        run_postinstall(moved / layer)  # what the docs say to re-run after a move
    assert launch(moved / "app-app@1") == "app 1.0 1.0 1.0\n"


def test_unchanged_build_does_nothing(project: Path, python_mirror: Path) -> None:
    lock_and_build(project, python_mirror)
    stamps = {p: p.read_bytes() for p in (project / "_build").glob("*.last-build.json")}
    proc = build(project, python_mirror)
    assert proc.stdout.count(": up to date (") == 4
    assert {p: p.read_bytes() for p in stamps} == stamps
    # --clean rebuilds the included layers; their dependencies only with --build-dependencies.
    proc = build(project, python_mirror, "--include", "app-app", "--clean")
    assert proc.stdout.count(": built (") == 1
    proc = build(project, python_mirror, "--include", "app-app", "--clean", "--build-dependencies")
    assert proc.stdout.count(": built (") == 4


def test_build_needs_valid_locks(project: Path, python_mirror: Path) -> None:
    proc = venvstacks(project, "build", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: app-app, cpython-3.11, framework-base, framework-upper: the lock is missing or out "
        "of date; run 'venvstacks lock' first (or pass --lock-if-needed)\n"
    )


def test_import_failure_keeps_the_previous_build(project: Path, python_mirror: Path) -> None:
    lock_and_build(project, python_mirror)
    good = (project / "_build" / "framework-base").stat().st_ino
    wheels = project / "wheels"
    broken = make_wheel(wheels, "broken", "1.0")
    # Make the package raise on import.
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(broken) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["broken/__init__.py"] = b"raise RuntimeError('no GPU here')\n"
    with zipfile.ZipFile(broken, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    spec = project / "venvstacks.toml"
    spec.write_text(
        SPEC.replace('requirements = ["beta==1.0"]', 'requirements = ["beta==1.0", "broken"]')
    )
    proc = venvstacks(
        project,
        "build",
        "--lock-if-needed",
        "--python-mirror",
        str(python_mirror),
        "--no-index",
        "--local-wheels",
        "wheels",
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: framework-base: importing the layer's packages failed: "
        "broken (RuntimeError: no GPU here)\n"
    )
    assert (project / "_build" / "framework-base").stat().st_ino == good
    assert not list((project / "_build").glob(".*staging"))
    assert launch(project / "_build" / "app-app") == "app 1.0 1.0 1.0\n"


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        if not p.is_symlink()
        else str(p.readlink()).encode()
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_rebuilds_are_byte_identical(project: Path, python_mirror: Path) -> None:
    lock_and_build(project, python_mirror)
    layer = project / "_build" / "framework-upper"
    first = _tree_bytes(layer)
    assert any(name.endswith(".pyc") for name in first)
    build(project, python_mirror, "--include", "framework-upper", "--clean")
    assert _tree_bytes(layer) == first


def test_show_only_and_selection(project: Path, python_mirror: Path) -> None:
    proc = venvstacks(
        project, "build", "--show-only", "--include", "framework-upper", "--lock-if-needed"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1:] == [
        "├── Runtimes",
        "│   └── *cpython-3.11 (lock-if-needed, build-if-needed)",
        "└── Frameworks",
        "    ├── *framework-base (lock-if-needed, build-if-needed)",
        "    └── *framework-upper -> framework-upper@??? (lock-if-needed, build)",
    ]
    assert not (project / "requirements").exists()
    assert not (project / "_build").exists()
    # --no-build only locks; --include builds what the included layer runs on, not what runs on it.
    proc = venvstacks(
        project, "build", "--no-build", "--lock-if-needed", "--python-mirror", str(python_mirror),
        "--no-index", "--local-wheels", "wheels",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(
        p.name
        for p in (project / "_build").iterdir()
        if not p.name.endswith("_resolve") and p.name not in LOCK_FILE_NAMES
    ) == [
        "cpython-3.11"  # installed for locking only
    ]
    proc = build(project, python_mirror, "--include", "framework-upper")
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == [
        "cpython-3.11", "framework-base", "framework-upper",
    ]  # fmt: skip


def test_real_pypi_stack_builds_deploys_and_runs(tmp_path: Path, python_mirror: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "venvstacks.toml").write_text(PYPI_SPEC)
    (project / "classify.py").write_text(
        "import numpy, sklearn\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "model = LogisticRegression().fit(numpy.array([[0.0], [1.0]]), [0, 1])\n"
        "print(sklearn.__version__, model.predict([[0.9]])[0])\n"
    )
    proc = venvstacks(
        project, "build", "--lock-if-needed", "--python-mirror", str(python_mirror), offline=False
    )
    assert proc.returncode == 0, proc.stderr
    # numpy lives only in its own layer; scikit-learn's layer and the app reuse it.
    sklearn_site = project / "_build/framework-sklearn/lib/python3.12/site-packages"
    assert not list(sklearn_site.glob("numpy*"))
    assert list(sklearn_site.glob("scikit_learn-1.6.1.dist-info"))
    deployed = tmp_path / "deployed"
    names = deploy(project, deployed)
    shutil.rmtree(project / "_build")
    assert launch(deployed / names["app-classify"]) == "1.6.1 1\n"


def test_local_export_runs_in_place_and_skips_unchanged_layers(
    project: Path, python_mirror: Path
) -> None:
    lock_and_build(project, python_mirror)
    proc = venvstacks(project, "local-export")
    assert proc.returncode == 0, proc.stderr
    export = project / "_export"
    assert proc.stdout.splitlines() == [
        f"Exported to {export}:",
        "  cpython-3.11  (exported)",
        "  framework-base  (exported)",
        "  framework-upper@1  (exported)",
        "  app-app@1  (exported)",
    ]
    assert launch(export / "app-app@1") == "app 1.0 1.0 1.0\n"
    manifest = json.loads((export / "__venvstacks__/venvstacks.json").read_text())
    assert [layer["install_target"] for layer in manifest["layers"]["frameworks"]] == [
        "framework-base",
        "framework-upper@1",
    ]
    assert "archive_name" not in manifest["layers"]["applications"][0]
    proc = venvstacks(project, "local-export")
    assert proc.stdout.count("(unchanged)") == 4
    # Exported files share storage with the build where the file system allows it.
    built = project / "_build/framework-upper/lib/python3.11/site-packages/alpha/__init__.py"
    exported = export / "framework-upper@1/lib/python3.11/site-packages/alpha/__init__.py"
    assert built.stat().st_ino == exported.stat().st_ino
