"""Time the layer store on two published releases: add, add with shared layers, switch, gc, run.

Usage: ``.venv/bin/python benchmarks/store.py ARTIFACTS_1 ARTIFACTS_2 [--repeat N]``

``ARTIFACTS_1`` and ``ARTIFACTS_2`` are folders ``venvstacks publish`` wrote (the
second typically with only an application changed).  Into a fresh temporary
store it times, through the Python API (`venvstacks.store`): the first
``add`` (every layer verified, unpacked, post-installed), the second ``add``
(only the layers not already stored), then ``switch``, ``rollback``, ``list``
and ``gc --dry-run`` (the median of ``--repeat`` runs each), and starting the
current application's interpreter with ``-c pass`` through its exact command,
through the stable ``current`` path and through ``venvstacks store run``
(which adds venvstacks' own start-up).  It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from venvstacks.store import (
    add_release,
    collect_garbage,
    find_app,
    list_store,
    rollback_release,
    switch_release,
)


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Return the median wall time of *repeat* runs of *action*, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        store = Path(tmp) / "store"
        rows.append(
            ("add (first release, every layer)", timed(lambda: add_release(store, args.first)))
        )
        rows.append(
            (
                "add (second release, shared layers reused)",
                timed(lambda: add_release(store, args.second)),
            )
        )
        rows.append(("switch", timed(lambda: switch_release(store, 1), args.repeat)))
        rows.append(("rollback", timed(lambda: rollback_release(store), args.repeat)))
        rows.append(("list", timed(lambda: list_store(store), args.repeat)))
        rows.append(
            ("gc --dry-run", timed(lambda: collect_garbage(store, dry_run=True), args.repeat))
        )
        launch = find_app(store, find_app_name(store))
        exact = launch.app.command[0]
        stable = list_store(store).applications[0].command[0]
        for label, argv in (
            ("start: exact command (`python -c pass`)", [exact, "-c", "pass"]),
            ("start: STORE/current/<app>/bin/python", [stable, "-c", "pass"]),
        ):
            rows.append((label, timed(partial(subprocess.run, argv, check=True), args.repeat)))
        store_run = [sys.executable, "-m", "venvstacks", "store", "run", "--store", str(store)]
        rows.append(
            (
                "start: venvstacks store run (app's module)",
                timed(
                    lambda: subprocess.run(
                        [*store_run, launch.app.layer_name], check=False, capture_output=True
                    ),
                    args.repeat,
                ),
            )
        )
    print("| Step | Seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")


def find_app_name(store: Path) -> str:
    """Return the build name of the first application of the current release."""
    return list_store(store).applications[0].layer_name


if __name__ == "__main__":
    main()
