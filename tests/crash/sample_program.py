"""A small program shaped like a deploy, for the crash harness's own tests.

``sample_program.py FOLDER``: writes ten files into a fresh ``FOLDER/.staging``
from two threads, renames the previous ``FOLDER/out`` aside to
``FOLDER/.aside`` and the staging folder to ``out``, writes ``done.json``
atomically and removes the aside folder.
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path


def _stage(staging: Path, first: int) -> None:
    for n in range(first, first + 5):
        (staging / f"f{n}.txt").write_text(str(n), encoding="utf-8")


def main(folder: Path) -> None:
    """Stage, swap in, record, clean up."""
    staging = folder / ".staging"
    staging.mkdir()
    threads = [threading.Thread(target=_stage, args=(staging, first)) for first in (0, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out, aside = folder / "out", folder / ".aside"
    if out.exists():
        out.rename(aside)
    staging.rename(out)
    tmp = folder / ".done.tmp"
    tmp.write_text("ok", encoding="utf-8")
    tmp.replace(folder / "done.json")
    shutil.rmtree(aside, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
