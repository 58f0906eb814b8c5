"""Build-time bytecode: every layer ships its ``.pyc`` files, compiled reproducibly.

Files are compiled by the layer's own interpreter (the bytecode format belongs
to its Python version) with *unchecked-hash* pycs (PEP 552): their header holds
a hash of the source instead of an mtime, so the same sources always give the
same bytes, and deployed layers never recompile.  Recorded source paths are
rewritten to start at the layer's build name (not the name of the staging folder
it is compiled in), so no build-machine path ends up in a ``.pyc`` (the import
system fixes ``co_filename`` when loading anyway).

The sources are found here (the files ``compileall`` would compile) and shared
out to one worker process per core, each running ``_pyc_worker.py`` with the
layer's interpreter.  With a cache folder, the workers take unchanged files from
the content-addressed bytecode cache (see ``venvstacks.cache``) and compile only
the rest; the bytes are the same either way.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from venvstacks.errors import BuildError
from venvstacks.tools._subprocess import Runner, run

logger = logging.getLogger("venvstacks.tools")

# Below this many files one worker is quicker than starting several.
_FILES_PER_WORKER = 200


@dataclass(frozen=True)
class BytecodeStats:
    """How a layer got its bytecode: from the cache, compiled, or not compilable."""

    hits: int = 0
    compiled: int = 0
    failed: int = 0


def find_sources(targets: list[Path]) -> list[Path]:
    """Return the ``.py`` files under *targets* that ``compileall`` compiles, in its order.

    Folders are walked sorted, ``__pycache__`` and symlinked folders skipped;
    symlinked files are compiled.
    """
    found: list[Path] = []

    def walk(folder: Path) -> None:
        try:
            names = sorted(path.name for path in folder.iterdir())
        except OSError:
            return
        for name in names:
            if name == "__pycache__":
                continue
            path = folder / name
            if path.is_dir() and not path.is_symlink():
                walk(path)
            elif name.endswith(".py") and path.is_file():
                found.append(path)

    for target in targets:
        if target.is_dir():
            walk(target)
    return found


def compute_dfile(source: Path, layer_dir: Path, prefix: str) -> str:
    """Return the source path recorded in *source*'s bytecode: *prefix* replaces *layer_dir*."""
    return str(Path(prefix, *source.relative_to(layer_dir).parts))


def _worker_source() -> str:
    return files("venvstacks.builder").joinpath("_pyc_worker.py").read_text(encoding="utf-8")


def compile_layer(
    python: Path,
    layer_dir: Path,
    targets: list[Path],
    *,
    prefix: str | None = None,
    cache: Path | None = None,
    workers: int | None = None,
    runner: Runner = run,
) -> BytecodeStats:
    """Byte-compile the *targets* folders of the layer at *layer_dir* with *python*.

    Source paths recorded in the bytecode start at *prefix* (default: the name
    of *layer_dir*) instead of *layer_dir*.  *cache* is the bytecode cache
    folder (None: compile everything).  Files that do not compile are skipped,
    as installers do.
    """
    label = prefix or layer_dir.name
    sources = find_sources(targets)
    if not sources:
        return BytecodeStats()
    jobs = [(str(source), compute_dfile(source, layer_dir, label)) for source in sources]
    count = workers or os.cpu_count() or 1
    count = max(1, min(count, len(jobs) // _FILES_PER_WORKER))
    with tempfile.TemporaryDirectory(prefix="venvstacks-pyc-") as tmp:
        job_files = []
        for index in range(count):
            job_file = Path(tmp, f"jobs-{index}.json")
            share = jobs[index::count]
            job_file.write_text(
                json.dumps({"cache": None if cache is None else str(cache), "jobs": share}),
                encoding="utf-8",
            )
            job_files.append(job_file)
        worker = Path(tmp, "_pyc_worker.py")
        worker.write_text(_worker_source(), encoding="utf-8")

        def work(job_file: Path) -> dict[str, int]:
            completed = runner([python, "-I", "-B", worker, job_file], check=False)
            try:
                counts: dict[str, int] = json.loads(completed.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise BuildError(
                    f"{label}: compiling the layer's bytecode failed (its interpreter did not "
                    "finish); run with -v to see its output",
                    output=completed.output,
                ) from None
            return counts

        with ThreadPoolExecutor(count) as pool:
            results = list(pool.map(work, job_files))
    stats = BytecodeStats(
        hits=sum(r["hit"] for r in results),
        compiled=sum(r["compiled"] for r in results),
        failed=sum(r["failed"] for r in results),
    )
    logger.debug(
        "%s: bytecode: %d files from the cache, %d compiled, %d not compilable",
        label,
        stats.hits,
        stats.compiled,
        stats.failed,
    )
    return stats
