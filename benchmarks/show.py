"""Time ``venvstacks show`` against the original venvstacks 0.7.0 on generated stacks.

Usage: ``.venv/bin/python benchmarks/show.py [--repeat N] [--reference PATH]``

Installs venvstacks 0.7.0 from PyPI into ``benchmarks/.reference-venv`` (once),
generates stacks of growing size with diamond-shaped framework dependencies,
runs both tools' ``show --json`` on each, checks that both print the same JSON
and reports the median wall time of each and their ratio.  Both tools run in
the same loop, alternating, so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

HERE = Path(__file__).parent
OURS = Path(sys.executable).with_name("venvstacks")


def reference_tool(path: Path) -> Path:
    """Return the 0.7.0 ``venvstacks`` script, installing it on first use."""
    script = path / "bin" / "venvstacks"
    if not script.exists():
        venv.create(path, with_pip=True)
        subprocess.run(
            [path / "bin" / "python", "-m", "pip", "install", "--quiet", "venvstacks==0.7.0"],
            check=True,
        )
    return script


def write_stack(folder: Path, frameworks: int, applications: int) -> Path:
    """Write a stack whose framework k depends on frameworks k-1 and k-2 (diamonds)."""
    lines = [
        "[[runtimes]]",
        'name = "cpython-3.11"',
        'python_implementation = "cpython@3.11.7"',
        "requirements = []",
    ]
    for k in range(frameworks):
        deps = [f'"fw{j}"' for j in (k - 1, k - 2) if j >= 0]
        link = f"frameworks = [{', '.join(deps)}]" if deps else 'runtime = "cpython-3.11"'
        lines += ["", "[[frameworks]]", f'name = "fw{k}"', link, f'requirements = ["pkg{k}"]']
    (folder / "launch.py").write_text("print('hello')\n", encoding="utf-8")
    for k in range(applications):
        lines += [
            "",
            "[[applications]]",
            f'name = "app{k}"',
            f'frameworks = ["fw{frameworks - 1 - k % frameworks}"]',
            "requirements = []",
            'launch_module = "launch.py"',
        ]
    spec = folder / "venvstacks.toml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec


def time_show(tool: Path, spec: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [tool, "show", "--json", spec], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference", type=Path, default=HERE / ".reference-venv")
    args = parser.parse_args()
    reference = reference_tool(args.reference)
    print(f"{'stack':>22} {'0.7.0 (s)':>10} {'ours (s)':>9} {'ratio':>6}  same output")
    for frameworks, applications in [(2, 2), (20, 20), (60, 60)]:
        with tempfile.TemporaryDirectory() as tmp:
            spec = write_stack(Path(tmp), frameworks, applications)
            theirs, ours = [], []
            same = True
            for _ in range(args.repeat):
                seconds, their_out = time_show(reference, spec)
                theirs.append(seconds)
                seconds, our_out = time_show(OURS, spec)
                ours.append(seconds)
                same = same and json.loads(their_out) == json.loads(our_out)
            a, b = statistics.median(theirs), statistics.median(ours)
            label = f"{frameworks} fw + {applications} apps"
            print(f"{label:>22} {a:>10.3f} {b:>9.3f} {a / b:>5.1f}x  {same}")


if __name__ == "__main__":
    main()
