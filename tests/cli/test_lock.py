"""``venvstacks lock`` driven through the real CLI, real uv and a packed runtime, offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtimes.local_pythons import require_local_python
from tests.wheel_factory import make_wheel

pytestmark = pytest.mark.slow

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []

[[frameworks]]
name = "base"
runtime = "cpython-3.11"
requirements = ["beta==1.0"]

[[frameworks]]
name = "upper"
frameworks = ["base"]
requirements = ["alpha"]
versioned = true

[[applications]]
name = "app"
launch_module = "launch/app.py"
frameworks = ["upper"]
requirements = ["gamma", "alpha"]
versioned = true
"""


def make_wheels(folder: Path) -> None:
    make_wheel(folder, "alpha", "1.0", requires=["beta>=1"])
    make_wheel(folder, "alpha", "2.0", requires=["beta>=2"])
    make_wheel(folder, "beta", "1.0")
    make_wheel(folder, "beta", "2.0")
    make_wheel(folder, "gamma", "1.0", requires=['delta; sys_platform == "win32"', "beta"])
    make_wheel(folder, "delta", "1.0")
    make_wheel(folder, "linuxonly", "1.0", tag="py3-none-manylinux_2_17_x86_64")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_wheels(tmp_path / "wheels")
    (tmp_path / "launch").mkdir()
    (tmp_path / "launch" / "app.py").write_text("import alpha, gamma\n")
    (tmp_path / "venvstacks.toml").write_text(SPEC)
    return tmp_path


def venvstacks(project: Path, *args: str, offline: bool = True) -> subprocess.CompletedProcess[str]:
    extra: list[str] = []
    if offline and args[0] == "lock":
        extra = ["--no-index", "--local-wheels", "wheels"]
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *args, str(project), *extra],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )


def lock(project: Path, mirror: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, "lock", "--python-mirror", str(mirror), *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def meta(project: Path, layer: str) -> dict[str, object]:
    group = layer.replace(".", "_")
    path = project / "requirements" / layer / f"pylock.{group}.meta.json"
    data: dict[str, object] = json.loads(path.read_text())
    return data


def show(project: Path) -> dict[str, bool | str]:
    proc = venvstacks(project, "show", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return {
        layer["name"]: ("" if layer["has_valid_lock"] else "*") + layer["install_target"]
        for kind in ("runtimes", "frameworks", "applications")
        for layer in data[kind]
    }


def normalise(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<locked_at>", text)


def test_lock_writes_every_file(project: Path, python_mirror: Path, golden: object) -> None:
    assert show(project) == {
        "cpython-3.11": "*cpython-3.11",
        "framework-base": "*framework-base",
        "framework-upper": "*framework-upper@???",
        "app-app": "*app-app@???",
    }
    proc = lock(project, python_mirror)
    assert proc.stdout.splitlines()[0] == f"Lock files (relative to {project}/requirements):"
    assert show(project) == {
        "cpython-3.11": "cpython-3.11",
        "framework-base": "framework-base",
        "framework-upper": "framework-upper@1",
        "app-app": "app-app@1",
    }
    files = sorted(
        p.relative_to(project / "requirements").as_posix()
        for p in (project / "requirements").rglob("*")
        if p.is_file()
    )
    assert len(files) == 4 * 10
    for name in files:
        if "cpython" in name and not name.endswith(".json"):
            continue  # the runtime's files are empty lists
        text = (project / "requirements" / name).read_text()
        assert str(project) not in text, name  # no machine paths in lock files
        golden(f"lock/{name}", normalise(text))  # type: ignore[operator]


def test_relock_unchanged_and_if_needed(project: Path, python_mirror: Path) -> None:
    lock(project, python_mirror)
    before = {p: p.read_bytes() for p in (project / "requirements").rglob("*") if p.is_file()}
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    proc = lock(project, python_mirror)
    assert proc.stdout.count("(unchanged)") == 4
    assert {p: p.read_bytes() for p in before} == before
    assert {p: p.stat().st_mtime_ns for p in before} == mtimes
    # --if-needed on a locked stack never resolves: it works with no runtime and no wheels.
    shutil.rmtree(project / "_build")
    shutil.rmtree(project / "wheels")
    proc = venvstacks(project, "lock", "--if-needed", offline=False)
    assert proc.returncode == 0, proc.stderr
    assert {p: p.read_bytes() for p in before} == before


def test_versions_follow_their_inputs(project: Path, python_mirror: Path) -> None:
    lock(project, python_mirror)
    app_meta = meta(project, "app-app")
    # Editing the launch module bumps the versioned app only.
    (project / "launch" / "app.py").write_text("import alpha, gamma  # edited\n")
    assert show(project)["app-app"] == "*app-app@1"
    lock(project, python_mirror, "--if-needed")
    assert show(project) == {
        "cpython-3.11": "cpython-3.11",
        "framework-base": "framework-base",
        "framework-upper": "framework-upper@1",
        "app-app": "app-app@2",
    }
    assert meta(project, "app-app")["requirements_hash"] == app_meta["requirements_hash"]
    # A requirement change in the versioned framework bumps it, and its dependant follows
    # (its deployed path to the framework changed).
    spec = project / "venvstacks.toml"
    spec.write_text(SPEC.replace('requirements = ["alpha"]', 'requirements = ["alpha", "delta"]'))
    assert show(project)["framework-upper"] == "*framework-upper@1"
    assert show(project)["app-app"] == "*app-app@2"
    lock(project, python_mirror, "--if-needed")
    assert show(project)["framework-upper"] == "framework-upper@2"
    assert show(project)["app-app"] == "app-app@3"
    # Relocking without changes keeps versions and metadata bytes.
    before = (project / "requirements/app-app/pylock.app-app.meta.json").read_bytes()
    lock(project, python_mirror)
    assert (project / "requirements/app-app/pylock.app-app.meta.json").read_bytes() == before


def test_metadata_from_venvstacks_08_is_adopted_without_a_bump(
    project: Path, python_mirror: Path
) -> None:
    lock(project, python_mirror)
    path = project / "requirements/app-app/pylock.app-app.meta.json"
    data = json.loads(path.read_text())
    data.pop("deployment_inputs_hash")
    data["lock_version"] = 7
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    assert show(project)["app-app"] == "app-app@7"  # still valid
    lock(project, python_mirror, "--if-needed")
    adopted = json.loads(path.read_text())
    assert adopted["lock_version"] == 7
    assert "deployment_inputs_hash" in adopted
    assert show(project)["app-app"] == "app-app@7"


def test_conflict_names_the_layer_and_keeps_lower_locks(project: Path, python_mirror: Path) -> None:
    lock(project, python_mirror)
    lower = {
        p: p.read_bytes()
        for p in (project / "requirements").rglob("*")
        if "app-app" not in str(p) and p.is_file()
    }
    spec = project / "venvstacks.toml"
    spec.write_text(
        SPEC.replace('requirements = ["gamma", "alpha"]', 'requirements = ["gamma", "beta==2.0"]')
    )
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    first, *explanation = proc.stderr.splitlines()
    assert first == "error: app-app: uv could not resolve the layer's requirements:"
    assert any("beta==2.0" in line for line in explanation)
    assert "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in lower} == lower


TWO_FAILURES_SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []

[[frameworks]]
name = "one"
runtime = "cpython-3.11"
requirements = ["beta==3.0"]

[[frameworks]]
name = "two"
runtime = "cpython-3.11"
requirements = ["alpha>=2", "beta<2"]

[[frameworks]]
name = "fine"
runtime = "cpython-3.11"
requirements = ["beta==1.0"]

[[applications]]
name = "app"
launch_module = "launch/app.py"
frameworks = ["one"]
requirements = []

[[applications]]
name = "other"
launch_module = "launch/app.py"
frameworks = ["fine"]
requirements = ["gamma"]
"""


def test_every_failing_layer_is_reported(project: Path, python_mirror: Path) -> None:
    """Two layers of one wave fail: both are reported; what runs on them is not attempted."""
    (project / "venvstacks.toml").write_text(TWO_FAILURES_SPEC)
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: framework-one: uv could not resolve the layer's requirements:",
        "error: framework-two: uv could not resolve the layer's requirements:",
        "error: app-app: not locked, because framework-one could not be locked",
    ]
    # Each failure is followed by uv's explanation, indented.
    one, two, _ = re.split(r"^error: ", proc.stderr, flags=re.MULTILINE)[1:]
    assert "beta==3.0" in one
    assert "alpha>=2" in two
    assert all(line.startswith("  ") for text in (one, two) for line in text.splitlines()[1:])
    # Layers on the ones that worked are locked all the same.
    locked = sorted(p.name for p in (project / "requirements").iterdir())
    assert locked == ["app-other", "cpython-3.11", "framework-fine"]


def test_missing_wheels_are_reported_with_a_hint(project: Path, python_mirror: Path) -> None:
    spec = project / "venvstacks.toml"
    spec.write_text(
        SPEC.replace('requirements = ["gamma", "alpha"]', 'requirements = ["linuxonly"]')
    )
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: app-app: some packages have no wheels for the layer's platforms: "
        "linuxonly: no wheels available for ['linux_aarch64', 'macosx_arm64', 'macosx_x86_64', "
        "'win_amd64', 'win_arm64']. Set platforms to ['linux_x86_64'] to limit to available wheels.\n"
    )


PYPI_SPEC = """\
[[runtimes]]
name = "cpython-3.12"
python_implementation = "cpython@3.12"
requirements = []
platforms = ["linux_x86_64", "macosx_arm64", "win_amd64"]

[[frameworks]]
name = "numpy"
runtime = "cpython-3.12"
requirements = ["numpy>=2,<2.3"]

[[frameworks]]
name = "sklearn"
frameworks = ["numpy"]
requirements = ["scikit-learn>=1.5,<1.7"]
versioned = true

[[applications]]
name = "classify"
launch_module = "classify.py"
frameworks = ["sklearn"]
requirements = ["scikit-learn", "numpy"]

[tool.uv]
exclude-newer = "2025-06-01T00:00:00Z"
"""


def test_real_pypi_stack(tmp_path: Path, python_mirror: Path) -> None:
    (tmp_path / "venvstacks.toml").write_text(PYPI_SPEC)
    (tmp_path / "classify.py").write_text("import sklearn\n")
    proc = venvstacks(tmp_path, "lock", "--python-mirror", str(python_mirror), offline=False)
    assert proc.returncode == 0, proc.stderr
    requirements = tmp_path / "requirements"
    summary = (requirements / "framework-sklearn/packages-framework-sklearn.txt").read_text()
    assert "scikit-learn==1.6.1\n" in summary
    assert summary.endswith("# Shared packages inherited from other layers\nnumpy==2.2.6\n\n")
    app_summary = (requirements / "app-classify/packages-app-classify.txt").read_text()
    assert app_summary.splitlines()[2:4] == ["", "# Shared packages inherited from other layers"]
    assert meta(tmp_path, "framework-sklearn")["locked_at"] == "2025-06-01T00:00:00+00:00"
    assert show(tmp_path)["framework-sklearn"] == "framework-sklearn@1"
    # The per-platform views install with pip's hash checking, layer by layer.
    venv = tmp_path / "venv"
    python = require_local_python("3.12")
    subprocess.run([python, "-m", "venv", venv], check=True)
    env = {"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null", "HOME": str(tmp_path)}
    if "SSL_CERT_FILE" in os.environ:  # a corporate CA bundle, as the machine's pip uses
        env["PIP_CERT"] = os.environ["SSL_CERT_FILE"]
    for layer, group in (
        ("framework-numpy", "framework-numpy"),
        ("framework-sklearn", "framework-sklearn"),
    ):
        view = requirements / layer / f"requirements-{group}-linux_x86_64.txt"
        subprocess.run(
            [
                venv / "bin/python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--require-hashes",
                "-r",
                view,
            ],
            check=True,
            env=env,
        )
    check = subprocess.run(
        [venv / "bin/python", "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.strip() == "1.6.1"


def test_relocking_a_lower_layer_alone_invalidates_the_layers_on_it(
    project: Path, python_mirror: Path
) -> None:
    lock(project, python_mirror)
    spec = project / "venvstacks.toml"
    spec.write_text(SPEC.replace('requirements = ["beta==1.0"]', 'requirements = ["beta==2.0"]'))
    lock(project, python_mirror, "--if-needed", "--include", "framework-base")
    # The layers above still take beta 1.0 from framework-base, which now has 2.0.
    assert show(project) == {
        "cpython-3.11": "cpython-3.11",
        "framework-base": "framework-base",
        "framework-upper": "*framework-upper@1",
        "app-app": "*app-app@1",
    }
    lock(project, python_mirror, "--if-needed")
    assert show(project) == {
        "cpython-3.11": "cpython-3.11",
        "framework-base": "framework-base",
        "framework-upper": "framework-upper@2",
        "app-app": "app-app@2",
    }
    upper = (project / "requirements/framework-upper/packages-framework-upper.txt").read_text()
    assert "alpha==2.0\n" in upper
    assert upper.endswith("# Shared packages inherited from other layers\nbeta==2.0\n\n")
