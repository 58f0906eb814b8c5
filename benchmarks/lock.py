"""Time ``venvstacks lock`` and ``show`` on a generated offline stack.

Usage: ``.venv/bin/python benchmarks/lock.py [--repeat N] [--frameworks F] [--apps A]
[--python-mirror DIR] [--runtime cpython@X.Y]``

Builds a stack of one runtime, F frameworks (framework k runs on frameworks k-1
and k-2, so every layer has up to F-1 layers below it) and A applications, with
small local wheels made by ``tests/wheel_factory.py``.  Everything is locked
with ``--no-index --local-wheels``, so no package index is queried.  The runtime
comes from a python mirror folder: ``--python-mirror DIR`` if given, otherwise
the running interpreter is packed into a temporary one with
``venvstacks python pack`` (Linux only).

Each repeat starts from a fresh copy of the project and times, in order:

1. the first ``lock``, with an empty build folder (installs the runtime from the mirror);
2. the first ``lock`` again from scratch, with the runtime already installed;
3. ``lock`` again with nothing changed (every layer is resolved again, no file changes);
4. ``lock --if-needed`` on the locked stack (no resolution at all);
5. ``show --json`` on the locked stack.

The table reports the median wall time of each step.  uv's cache is left as
it is (warm after the first repeat), as on a developer's machine.

The original venvstacks (0.7.0, the newest on PyPI) is not timed: its ``lock``
downloads runtimes from python-build-standalone's GitHub releases and has no
mirror option, so it cannot lock on a machine without GitHub access.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wheel_factory import make_wheel  # noqa: E402 (needs the repo root on sys.path)

OURS = Path(sys.executable).with_name("venvstacks")
OFFLINE = ("--no-index", "--local-wheels", "wheels")


def write_wheels(folder: Path, frameworks: int, applications: int) -> None:
    """Write the stack's wheels: shared ``common``, one package per layer, a Windows-only helper."""
    make_wheel(folder, "common", "1.0")
    make_wheel(folder, "common", "2.0")
    make_wheel(folder, "winhelper", "1.0")
    for k in range(frameworks):
        make_wheel(folder, f"fwpkg{k}", "1.0", requires=["common>=1"])
    for k in range(applications):
        make_wheel(
            folder,
            f"apppkg{k}",
            "1.0",
            requires=["common", 'winhelper; sys_platform == "win32"'],
        )


def write_stack(folder: Path, runtime: str, frameworks: int, applications: int) -> None:
    """Write ``venvstacks.toml``, a launch module and the wheels into *folder*."""
    lines = [
        "[[runtimes]]",
        'name = "runtime"',
        f'python_implementation = "{runtime}"',
        "requirements = []",
    ]
    for k in range(frameworks):
        deps = [f'"fw{j}"' for j in (k - 1, k - 2) if j >= 0]
        link = f"frameworks = [{', '.join(deps)}]" if deps else 'runtime = "runtime"'
        pins = ', "common==1.0"' if k == 0 else ""
        lines += [
            "",
            "[[frameworks]]",
            f'name = "fw{k}"',
            link,
            f'requirements = ["fwpkg{k}"{pins}]',
        ]
    for k in range(applications):
        fw = frameworks - 1 - k % frameworks
        lines += [
            "",
            "[[applications]]",
            f'name = "app{k}"',
            f'frameworks = ["fw{fw}"]',
            f'requirements = ["apppkg{k}", "fwpkg{fw}"]',
            'launch_module = "launch.py"',
            f"versioned = {'true' if k % 2 else 'false'}",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "venvstacks.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "launch.py").write_text("print('hello')\n", encoding="utf-8")
    write_wheels(folder / "wheels", frameworks, applications)


def run(tool: Path, args: Sequence[str], project: Path, mirror: Path) -> float:
    """Run ``venvstacks <args> <project>`` and return its wall time; fail loudly on errors."""
    command = [str(tool), *args, str(project)]
    if args[0] == "lock":
        command += ["--python-mirror", str(mirror)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=project)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def pack_running_python(tool: Path, folder: Path) -> Path:
    """Pack the running interpreter into *folder* (a python mirror) and return it."""
    subprocess.run([str(tool), "python", "pack", "--output-dir", str(folder)], check=True)
    return folder


def main() -> None:
    """Parse the options, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per step (median reported)")
    parser.add_argument("--frameworks", type=int, default=10)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument(
        "--python-mirror", type=Path, help="mirror folder (default: pack this Python)"
    )
    parser.add_argument(
        "--runtime",
        default=f"cpython@{sys.version_info.major}.{sys.version_info.minor}",
        help="python_implementation of the runtime layer (default: the running Python's X.Y)",
    )
    parser.add_argument("--venvstacks", type=Path, default=OURS, help="venvstacks script to time")
    args = parser.parse_args()
    steps = [
        "lock (first, empty build folder)",
        "lock (first, runtime installed)",
        "lock (relock, no changes)",
        "lock --if-needed (locked)",
        "show --json (locked)",
    ]
    times: dict[str, list[float]] = {step: [] for step in steps}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        mirror = args.python_mirror or pack_running_python(args.venvstacks, scratch / "mirror")
        template = scratch / "template"
        write_stack(template, args.runtime, args.frameworks, args.apps)
        for number in range(args.repeat):
            project = scratch / f"run{number}"
            shutil.copytree(template, project)
            tool = args.venvstacks
            times[steps[0]].append(run(tool, ["lock", *OFFLINE], project, mirror))
            shutil.rmtree(project / "requirements")
            times[steps[1]].append(run(tool, ["lock", *OFFLINE], project, mirror))
            times[steps[2]].append(run(tool, ["lock", *OFFLINE], project, mirror))
            times[steps[3]].append(run(tool, ["lock", "--if-needed"], project, mirror))
            times[steps[4]].append(run(tool, ["show", "--json"], project, mirror))
            shutil.rmtree(project)
    layers = 1 + args.frameworks + args.apps
    print(f"stack: 1 runtime ({args.runtime}) + {args.frameworks} frameworks + {args.apps} apps")
    print(f"{'step':<34} {'median (s)':>10} {'per layer (ms)':>15}")
    for step in steps:
        median = statistics.median(times[step])
        print(f"{step:<34} {median:>10.3f} {1000 * median / layers:>15.0f}")


if __name__ == "__main__":
    main()
