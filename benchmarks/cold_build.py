"""Time a cold build (empty build folder): before the caches, without them, with a warm cache.

Usage: ``.venv/bin/python benchmarks/cold_build.py --stack quickstart|phases
--python-mirror DIR [--baseline-src DIR] [--repeat N] [--workdir DIR]``

``quickstart`` is this repository's stack (its committed locks); ``phases`` is
the stack of ``benchmarks/phases.py`` (numpy + scikit-learn and httpx
frameworks, two apps), locked first from PyPI.  Runtimes come from the python
mirror folder.  uv's cache is the user's (warm after the first run).

Each round builds the stack into a fresh build folder, interleaving:

- ``before`` (with ``--baseline-src DIR``: the ``src`` folder of a checkout of the
  code before the caches, e.g. ``git worktree add /tmp/before <commit>``; run with
  ``PYTHONPATH`` pointing at it);
- ``--no-cache`` (compiling and extracting everything, layers of a wave in parallel);
- ``warm cache`` (a cache filled by an earlier build of the same stack).

The table shows the median of ``--repeat`` rounds.  Then one warm-cache build runs
in this process with every subprocess timed, for a profile of where a cold build's
time goes (subprocess time summed per kind; layers of a wave overlap, so the sum
can exceed the wall time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_project(stack: str, project: Path, mirror: Path, env: dict[str, str]) -> None:
    if stack == "quickstart":
        project.mkdir(parents=True)
        shutil.copy2(REPO / "venvstacks.toml", project)
        shutil.copytree(REPO / "requirements", project / "requirements")
        shutil.copytree(REPO / "launch_modules", project / "launch_modules")
        return
    from benchmarks.phases import write_stack  # noqa: PLC0415

    write_stack(project)
    cli(["lock", str(project), "--python-mirror", str(mirror)], env)


def cli(args: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "venvstacks", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"venvstacks {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def cold_build(
    project: Path, mirror: Path, build_dir: Path, env: dict[str, str], *extra: str
) -> float:
    shutil.rmtree(build_dir, ignore_errors=True)
    args = ["build", str(project), "--python-mirror", str(mirror), "--build-dir", str(build_dir)]
    return cli([*args, *extra], env)


_KINDS = (
    ("_pyc_worker.py", "bytecode"),
    ("compileall", "bytecode"),
    (" python install", "runtime install (uv python install)"),
    (" pip install", "uv pip install"),
    (" pip uninstall", "uv pip uninstall"),
    ("importlib", "import check"),
    (" venv", "venv"),
)


def classify(argv: Sequence[str]) -> str:
    text = " ".join(argv)
    return next((kind for needle, kind in _KINDS if needle in text), "other subprocesses")


def profile(project: Path, mirror: Path, build_dir: Path) -> None:
    import venvstacks.tools._subprocess as runner_module  # noqa: PLC0415
    from venvstacks.pipeline import BuildOptions, build_stack  # noqa: PLC0415

    totals: dict[str, float] = defaultdict(float)
    real_run = runner_module.subprocess.run

    def timed(argv: Sequence[str], *args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return real_run(argv, *args, **kwargs)  # type: ignore[call-overload]
        finally:
            totals[classify([str(a) for a in argv])] += time.perf_counter() - start

    runner_module.subprocess.run = timed  # type: ignore[assignment]
    shutil.rmtree(build_dir, ignore_errors=True)
    start = time.perf_counter()
    build_stack(
        project / "venvstacks.toml", BuildOptions(build_dir=build_dir, python_mirror=mirror)
    )
    wall = time.perf_counter() - start
    runner_module.subprocess.run = real_run
    print(f"\nprofile of a warm-cache cold build (in-process, wall {wall:.1f} s):")
    for kind, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {kind:40s} {seconds:6.1f} s")
    print(f"  {'sum of subprocesses':40s} {sum(totals.values()):6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", choices=("quickstart", "phases"), default="quickstart")
    parser.add_argument("--python-mirror", type=Path, required=True)
    parser.add_argument("--baseline-src", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="venvstacks-cold-"))
    env = {**os.environ, "VENVSTACKS_CACHE_DIR": str(workdir / "cache")}
    project = workdir / "project"
    mirror = args.python_mirror.absolute()
    os.environ["VENVSTACKS_CACHE_DIR"] = env["VENVSTACKS_CACHE_DIR"]  # for the profile
    build_dir = workdir / "_build"
    if not project.exists():  # a --workdir of an earlier run is reused
        make_project(args.stack, project, mirror, env)
        cold_build(project, mirror, build_dir, env)  # fills the cache (and uv's)
    variants: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {}
    if args.baseline_src is not None:
        before = {**env, "PYTHONPATH": str(args.baseline_src.absolute())}
        variants["before the caches"] = (before, ())
    variants["--no-cache"] = (env, ("--no-cache",))
    variants["warm cache"] = (env, ())
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.repeat):  # --repeat 0: only the profile
        for name, (variant_env, extra) in variants.items():
            times[name].append(cold_build(project, mirror, build_dir, variant_env, *extra))
    print(
        f"cold build of the {args.stack} stack, median of {args.repeat} (load {os.getloadavg()[0]:.1f}):"
    )
    baseline = statistics.median(next(iter(times.values()), [1.0]))
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:20s} {median:6.1f} s   ratio {median / baseline:.2f}")
    profile(project, mirror, build_dir)


if __name__ == "__main__":
    main()
