"""``exclude_packages`` end to end, offline: locked but not built, a version input, checked at lock time.

Local wheels: ``tool`` requires ``heavy`` (which the application never
imports).  The application excludes ``heavy``; its build, archive and sizes
report no longer contain it, its version is bumped, and it still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.cli.test_lock import venvstacks
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
requirements = ["shared"]
{base_exclude}

[[applications]]
name = "app"
launch_module = "launch/app.py"
frameworks = ["base"]
requirements = ["tool"]
versioned = true
{app_exclude}
"""


def write_spec(project: Path, *, app_exclude: str = "", base_exclude: str = "") -> None:
    text = SPEC.format(app_exclude=app_exclude, base_exclude=base_exclude)
    (project / "venvstacks.toml").write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tool", "1.0", requires=["heavy"])
    make_wheel(wheels, "heavy", "1.0", files={"heavy/data.bin": b"x" * 200_000})
    make_wheel(wheels, "shared", "1.0")
    (tmp_path / "launch").mkdir()
    (tmp_path / "launch" / "app.py").write_text("import tool\nprint('app', tool.__version__)\n")
    write_spec(tmp_path)
    return tmp_path


def ok(project: Path, *args: str) -> str:
    proc = venvstacks(project, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def site(project: Path, layer: str) -> Path:
    return project / "_build" / layer / "lib/python3.11/site-packages"


def app_line(project: Path) -> str:
    return next(line for line in ok(project, "show").splitlines() if "app-app ->" in line)


def launch(project: Path) -> str:
    python = project / "_build" / "app-app" / "bin" / "python"
    proc = subprocess.run(
        [python, "-m", "app"], capture_output=True, text=True, check=True,
        env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    return proc.stdout


def test_excluded_package_is_locked_but_not_built(project: Path, python_mirror: Path) -> None:
    mirror = str(python_mirror)
    ok(project, "lock", "--python-mirror", mirror)
    ok(project, "build", "--python-mirror", mirror)
    assert (site(project, "app-app") / "heavy").is_dir()
    assert app_line(project).endswith("── app-app -> app-app@1")

    write_spec(project, app_exclude='exclude_packages = ["Heavy"]')
    assert app_line(project).endswith("── *app-app -> app-app@1 [excludes: heavy]")
    assert json.loads(ok(project, "show", "--json"))["applications"][0]["exclude_packages"] == [
        "heavy"
    ]
    ok(project, "lock", "--python-mirror", mirror)
    # Still locked (resolution unchanged), a version input (bumped), marked in the views.
    lock_dir = project / "requirements" / "app-app"
    assert 'name = "heavy"' in (lock_dir / "pylock.app-app.toml").read_text()
    view = (lock_dir / "requirements-app-app-linux_x86_64.txt").read_text()
    assert "# excluded from the build (exclude_packages): heavy==1.0\n" in view
    assert "\nheavy==" not in view
    assert app_line(project).endswith("── app-app -> app-app@2 [excludes: heavy]")

    ok(project, "build", "--python-mirror", mirror)
    assert not (site(project, "app-app") / "heavy").exists()
    assert not list(site(project, "app-app").glob("heavy-*.dist-info"))
    assert (site(project, "app-app") / "tool").is_dir()
    assert launch(project) == "app 1.0\n"
    assert not list((project / "_build").glob(".*pylock*"))  # the install copy is gone

    ok(project, "publish")
    with tarfile.open(project / "_artifacts" / "app-app@2.tar.xz") as tar:
        names = tar.getnames()
    assert not [n for n in names if "/heavy" in n]
    assert [n for n in names if "site-packages/tool/" in n]
    sizes = json.loads(ok(project, "sizes", "--json", "--what-if-excluded", "tool"))
    app = next(layer for layer in sizes["layers"] if layer["layer_name"] == "app-app")
    assert [p["name"] for p in app["packages"] if not p["name"].startswith("(")] == ["tool"]
    assert sizes["what_if_excluded"][0]["needed_by"] == []


def test_upper_layer_needing_an_excluded_package_fails_to_lock(
    project: Path, python_mirror: Path
) -> None:
    make_wheel(project / "wheels", "tool", "2.0", requires=["heavy", "shared"])
    write_spec(project, base_exclude='exclude_packages = ["shared"]')
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: app-app: needs 'shared', which framework-base excludes (exclude_packages); "
        "remove it from framework-base's exclude_packages or stop requiring it in app-app\n"
    )
