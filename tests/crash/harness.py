"""Crash-point testing: run a real command, kill it at file-system mutation *k*, for every *k*.

The way storage engines are tested.  `record_mutations` runs the command once
in a subprocess (``tests/crash/_child.py``) whose file-system mutations are
counted and logged; `run_killed_at` runs it again and kills it with
``os._exit`` right at mutation *k*; `each_crash_point` does that for every
*k* of a plan, resetting the folder before each run and calling the caller's
invariant check after it, then finishes with runs past the last mutation until
one completes (a command with threads may count a few more mutations on
another run).  Every `CrashRun` says which mutation it died at (function and
paths relative to the test folder), and a failing check gets that as a note.

Counted mutations (in the command's own process; child processes such as uv
or ``postinstall.py`` are not counted, the kill point is always in the
command):

- ``os.replace``, ``os.rename``, ``os.link``, ``os.symlink``, ``os.unlink``,
  ``os.remove``, ``os.rmdir``, ``os.mkdir`` (so ``os.makedirs``,
  ``Path.mkdir`` and ``tempfile.mkdtemp``), ``os.chmod``: the process dies
  *before* the call (a call that would only fail because its path exists /
  is missing is not counted);
- ``open``/``io.open``/``Path.open`` for writing and ``os.open`` with write
  flags (so ``tempfile.mkstemp`` and ``shutil`` copies): the process dies
  right *after* the file is opened, leaving it created and empty — a torn
  write;
- ``shutil.rmtree``, ``shutil.copytree``, ``shutil.move``: counted before they
  start; the mutations they make inside are counted too, as one *group*.

Dying before mutation *k* leaves the state right after mutation *k - 1*, so
every state the command passes through on disk is reached.  Not modelled:
power loss (unflushed data, reordered writes), ``os.utime``, partial
``write`` calls beyond the empty file.

The reduction (`plan_crash_points`).  Unpacking a runtime writes thousands of
files, and killing at each would take hours.  Two kinds of mutations are
*bulk*:

- those made inside one ``rmtree``/``copytree``/``move`` call (its group);
- those whose paths all lie strictly inside a *staging folder*: a folder the
  command itself created (``mkdir``/``mkdtemp``) and later renamed or removed
  in the same run, as long as nothing from outside was moved into it (moved-in
  content is not the command's fresh output; from then on the folder counts
  as an ordinary one).

Consecutive bulk mutations of one group or staging folder are interchangeable
for any invariant about what is visible (the folder is either removed or
renamed into place as a whole, and until then nothing outside it has
changed), so of each such run only the first, the last and `SAMPLES`
evenly spaced ones in between are killed at.  Every other mutation — each
rename into place, journal or record write, deletion of an old folder, mkdir
outside staging, and the ``rmtree`` call itself — is killed at.  The
classification is made on the counting run's log and is printed by
`render_plan`.

Processes are killed with ``os._exit`` from whichever thread reaches *k*
(unpacking runs in threads).  `run_sigkilled_after` is the other kind: a real
``SIGKILL`` at a given time, for a few random-time tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.crash._child import KILL_EXIT

CHILD = Path(__file__).with_name("_child.py")
SAMPLES = 3
DEFAULT_ENTRY = "venvstacks.cli:main"
_RENAMES = {"rename", "replace", "move", "link"}
_REMOVALS = {"rmtree", "rmdir"}


@dataclass(frozen=True)
class Mutation:
    """One counted file-system mutation: its number *k*, the function, its paths.

    *paths* are relative to the test folder where possible (POSIX form);
    *group* is the *k* of the ``rmtree``/``copytree``/``move`` call it was made
    by, if any.
    """

    k: int
    function: str
    paths: tuple[str, ...]
    group: int | None = None

    def describe(self) -> str:
        """``#12 rename(a/b, c)``."""
        return f"#{self.k} {self.function}({', '.join(self.paths)})"


@dataclass(frozen=True)
class CrashRun:
    """One run of the command: killed at mutation *k*, or completed (*killed* false)."""

    k: int
    killed: bool
    returncode: int
    stdout: str
    stderr: str
    mutations: tuple[Mutation, ...]

    @property
    def mutation(self) -> Mutation | None:
        """The mutation the run died at (``None`` when it completed)."""
        return self.mutations[-1] if self.killed and self.mutations else None

    def describe(self) -> str:
        """Say how the run ended, for failure messages."""
        if self.mutation is not None:
            return f"killed at {self.mutation.describe()}"
        return f"completed (exit {self.returncode}) after {len(self.mutations)} mutations"


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def parse_log(text: str, root: Path) -> tuple[Mutation, ...]:
    """Parse the child's log (one JSON line per mutation), paths made relative to *root*."""
    mutations = []
    for line in text.splitlines():
        k, function, group, paths = json.loads(line)
        mutations.append(Mutation(k, function, tuple(_relative(p, root) for p in paths), group))
    return tuple(mutations)


def run_killed_at(
    argv: Sequence[str],
    k: int,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    entry: str = DEFAULT_ENTRY,
    timeout: float = 300,
) -> CrashRun:
    """Run the command *argv* (``venvstacks`` arguments) and kill it at mutation *k* (0: never).

    *root* (default *cwd*) is the folder paths are reported relative to;
    *entry* is what the child calls (``module:function`` or a script path).
    """
    root = (root or cwd).resolve()
    with tempfile.TemporaryDirectory(prefix="crash-log-") as logs:
        log = Path(logs, "mutations.jsonl")
        child_env = {
            **(os.environ if env is None else env),
            "VENVSTACKS_CRASH_LOG": str(log),
            "VENVSTACKS_CRASH_AT": str(k),
            "VENVSTACKS_CRASH_ENTRY": entry,
        }
        proc = subprocess.run(
            [sys.executable, str(CHILD), *argv],
            cwd=cwd,
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        mutations = parse_log(log.read_text(encoding="utf-8") if log.exists() else "", root)
    killed = proc.returncode == KILL_EXIT and bool(mutations) and mutations[-1].k == k
    return CrashRun(k, killed, proc.returncode, proc.stdout, proc.stderr, mutations)


def record_mutations(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    entry: str = DEFAULT_ENTRY,
) -> CrashRun:
    """Run the command to the end, logging every mutation; fail if it does not exit 0."""
    run = run_killed_at(argv, 0, cwd, env, root=root, entry=entry)
    if run.returncode != 0:
        raise AssertionError(f"the command failed (exit {run.returncode}):\n{run.stderr}")
    return run


def count_mutations(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    entry: str = DEFAULT_ENTRY,
) -> int:
    """Return how many mutations the command makes when it runs to the end."""
    return len(record_mutations(argv, cwd, env, entry=entry).mutations)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _staging_lifetimes(mutations: Sequence[Mutation]) -> dict[str, tuple[int, int]]:
    """Folders created and later renamed or removed, fresh from creation until then: ``(start, end)``."""
    lifetimes: dict[str, tuple[int, int]] = {}
    for i, created in enumerate(mutations):
        if created.function != "mkdir":
            continue
        folder = created.paths[0]
        fresh_until = None
        for j in range(i + 1, len(mutations)):
            later = mutations[j]
            source = later.paths[0]
            moved_in = (
                later.function in _RENAMES
                and len(later.paths) > 1
                and _inside(later.paths[1], folder)
                and not _inside(source, folder)
            )
            if moved_in and fresh_until is None:  # not only the command's fresh output from here
                fresh_until = j
            gone = source == folder or _inside(folder, source)
            if gone and later.function in _RENAMES | _REMOVALS:
                lifetimes.setdefault(folder, (i, j if fresh_until is None else fresh_until))
                break
    return lifetimes


def classify_bulk(mutations: Sequence[Mutation]) -> list[tuple[str, int] | None]:
    """Return each mutation's bulk run key (``None``: must be killed at).

    Keys are ``("group", k of the rmtree/copytree/move call)`` or
    ``("staging", index of the outermost staging folder's mkdir)``.
    """
    lifetimes = _staging_lifetimes(mutations)
    keys: list[tuple[str, int] | None] = []
    for i, mutation in enumerate(mutations):
        if mutation.group is not None:
            keys.append(("group", mutation.group))
            continue
        outer = [
            start
            for folder, (start, end) in lifetimes.items()
            if start < i < end and all(_inside(p, folder) for p in mutation.paths)
        ]
        keys.append(("staging", min(outer)) if outer else None)
    return keys


def plan_crash_points(mutations: Sequence[Mutation], samples: int = SAMPLES) -> list[int]:
    """Return the *k*s to kill at: every non-bulk mutation; first, last and samples of each bulk run."""
    keys = classify_bulk(mutations)
    plan: list[int] = []
    i = 0
    while i < len(mutations):
        key = keys[i]
        j = i + 1
        while key is not None and j < len(mutations) and keys[j] == key:
            j += 1
        run = mutations[i:j]
        if len(run) <= samples + 2:
            plan += [m.k for m in run]
        else:
            inner = {round(n * (len(run) - 1) / (samples + 1)) for n in range(1, samples + 1)}
            plan += [run[n].k for n in sorted({0, len(run) - 1} | inner)]
        i = j
    return plan


def render_plan(mutations: Sequence[Mutation], plan: Sequence[int]) -> str:
    """One line per mutation: killed at (``*``) or bulk and skipped (`` ``), and what it was."""
    chosen = set(plan)
    keys = classify_bulk(mutations)
    return "".join(
        f"{'*' if m.k in chosen else ' '} {m.describe()}{'' if key is None else f'  [{key[0]}]'}\n"
        for m, key in zip(mutations, keys, strict=True)
    )


def each_crash_point(
    argv: Sequence[str],
    cwd: Path,
    *,
    reset: Callable[[], None],
    check: Callable[[CrashRun], None],
    env: Mapping[str, str] | None = None,
    root: Path | None = None,
    entry: str = DEFAULT_ENTRY,
    samples: int = SAMPLES,
) -> list[CrashRun]:
    """Kill the command at every planned *k*, then past the end until a run completes.

    *reset* restores the starting state before every run (the counting run
    included); *check* asserts the invariants after each run, killed or not.
    Returns the runs, counting run first.
    """
    reset()
    counted = record_mutations(argv, cwd, env, root=root, entry=entry)
    plan = plan_crash_points(counted.mutations, samples)
    runs = [counted]

    def ks() -> Iterator[int]:
        yield from plan
        yield from range(len(counted.mutations) + 1, len(counted.mutations) + 50)

    for k in ks():
        reset()
        run = run_killed_at(argv, k, cwd, env, root=root, entry=entry)
        runs.append(run)
        try:
            check(run)
        except AssertionError as exc:
            exc.add_note(f"crash point k={k}: {run.describe()}\nstderr:\n{run.stderr}")
            raise
        if not run.killed and k > len(counted.mutations):
            return runs
    raise AssertionError("the command never completed past its counted mutations")


def run_sigkilled_after(
    argv: Sequence[str],
    delay: float,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> CrashRun:
    """Run ``venvstacks ARGV`` and ``SIGKILL`` its process group after *delay* seconds.

    The whole group is killed so no orphaned child (uv, ``postinstall.py``)
    keeps writing while the test checks the folder.  *killed* is false when the
    command finished first.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "venvstacks", *argv],
        cwd=cwd,
        env=dict(os.environ if env is None else env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    stdout, stderr = proc.communicate()
    return CrashRun(0, killed, proc.returncode, stdout, stderr, ())
