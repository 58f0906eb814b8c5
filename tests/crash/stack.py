"""A tiny real stack (runtime + one app on a local wheel) for the build/publish/export crash tests.

Prepared once per test module: locked, built, published (``tar.zst``) and
exported with launch module v1, then the launch module is changed to v2 and the
app rebuilt, so a build, a publish and an export each have one layer to redo
over a complete previous state.  The app is unversioned: its archive is
rewritten under the same name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.crash.harness import Mutation, plan_crash_points
from tests.wheel_factory import make_wheel

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []

[[applications]]
name = "app"
launch_module = "launch/app.py"
runtime = "cpython-3.11"
requirements = ["alpha"]
"""
CONFIG = Path("share/venv/metadata/venvstacks_layer.json")
ARCHIVE_FORMAT = "tar.zst"


def render_app(version: str) -> str:
    return f"import alpha\nprint('app', {version!r}, alpha.__version__)\n"


def venvstacks(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )


def run_ok(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = venvstacks(project, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def launch(layer: Path) -> str:
    """Run the app layer at *layer* the way a deployed app is run; return its output."""
    config = json.loads((layer / CONFIG).read_text())
    proc = subprocess.run(
        [layer / config["python"], "-m", config["launch_module"]],
        capture_output=True, text=True, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"},  # leave the folder alone
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tree(root: Path) -> dict[str, str]:
    """Every entry below *root*, hidden ones included: files by sha256, links by target.

    Folder locks (``.venvstacks.lock*``: who held the folder last) are left out.
    """
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name.startswith(".venvstacks.lock"):
            continue
        if path.is_symlink():
            found[name] = f"-> {path.readlink()}"
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[name] = "dir"
    return found


def copy_tree(source: Path, destination: Path) -> None:
    """Copy *source* to *destination* with hard links (commands never write files in place)."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, symlinks=True, copy_function=os.link)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Stack:
    """The prepared project and the states the crash tests start from."""

    project: Path
    mirror: Path
    build_v1: Path  # the build folder with the app at v1
    build_v2: Path  # ...and at v2, as the spec now asks
    published_v1: Path  # a complete publication of v1
    published_v2: Path  # what publishing v2 over it gives, uninterrupted
    exported_v1: Path
    exported_v2: Path

    def args(self, command: str, *extra: str) -> list[str]:
        """Return the command line of *command* for this project."""
        if command == "build":
            return ["build", str(self.project), "--python-mirror", str(self.mirror), *extra]
        if command == "publish":
            return [
                "publish", str(self.project), "--output-dir", "_artifacts",
                "--format", ARCHIVE_FORMAT, *extra,
            ]  # fmt: skip
        return ["local-export", str(self.project), "--output-dir", "_export", *extra]


def prepare_stack(root: Path, mirror: Path) -> Stack:
    project = root / "project"
    make_wheel(project / "wheels", "alpha", "1.0")
    (project / "launch").mkdir(parents=True)
    (project / "launch" / "app.py").write_text(render_app("v1"))
    (project / "venvstacks.toml").write_text(SPEC)
    run_ok(
        project, "lock", "--no-index", "--local-wheels", "wheels", "--python-mirror", str(mirror)
    )
    stack = Stack(
        project, mirror, root / "build-v1", root / "build-v2", root / "published-v1", root / "published-v2",
        root / "exported-v1", root / "exported-v2",
    )  # fmt: skip
    run_ok(project, *stack.args("build"))
    run_ok(project, *stack.args("publish"))
    run_ok(project, *stack.args("local-export"))
    copy_tree(project / "_build", stack.build_v1)
    copy_tree(project / "_artifacts", stack.published_v1)
    copy_tree(project / "_export", stack.exported_v1)
    (project / "launch" / "app.py").write_text(render_app("v2"))
    run_ok(project, *stack.args("build"))
    run_ok(project, *stack.args("publish"))
    run_ok(project, *stack.args("local-export"))
    copy_tree(project / "_build", stack.build_v2)
    copy_tree(project / "_artifacts", stack.published_v2)
    copy_tree(project / "_export", stack.exported_v2)
    return stack


def plan_kills(mutations: Sequence[Mutation], samples: int = 1) -> list[int]:
    """Return the harness's plan, with runs inside one ``.<name>.staging`` folder sampled too.

    A build's staging folder is created by ``venv`` (a child process) and an
    export's is filled with hard links from the build folder, so the harness
    can't tell that they are fresh; no invariant looks inside them.
    """
    by_k = {m.k: m for m in mutations}
    plan: list[int] = []
    run: list[int] = []
    for k in plan_crash_points(mutations, samples):
        if ".staging/" in by_k[k].paths[-1]:  # what it creates or changes is in staging
            run.append(k)
            continue
        plan += _sample(run, samples)
        run = []
        plan.append(k)
    return plan + _sample(run, samples)


def _sample(run: list[int], samples: int) -> list[int]:
    if len(run) <= samples + 2:
        return run
    inner = {run[round(n * (len(run) - 1) / (samples + 1))] for n in range(1, samples + 1)}
    return sorted({run[0], run[-1]} | inner)
