"""Build-time bytecode: every layer ships its ``.pyc`` files, compiled reproducibly.

Files are compiled by the layer's own interpreter (the bytecode format belongs
to its Python version) with *unchecked-hash* pycs (PEP 552): their header holds
a hash of the source instead of an mtime, so the same sources always give the
same bytes, and deployed layers never recompile.  Recorded source paths are
rewritten to start at the layer's build name (not the name of the staging folder
it is compiled in), so no build-machine path ends up in a ``.pyc`` (the import
system fixes ``co_filename`` when loading anyway).
"""

from __future__ import annotations

from pathlib import Path

from venvstacks.tools._subprocess import Runner, run


def compile_layer(
    python: Path,
    layer_dir: Path,
    targets: list[Path],
    *,
    prefix: str | None = None,
    runner: Runner = run,
) -> None:
    """Byte-compile the *targets* folders of the layer at *layer_dir* with *python*.

    Source paths recorded in the bytecode start at *prefix* (default: the name
    of *layer_dir*) instead of *layer_dir*.

    Files that do not compile (test data with deliberately broken syntax, Python 2
    leftovers) are skipped, as installers do.
    """
    existing = [target for target in targets if target.is_dir()]
    if not existing:
        return
    runner(
        [
            python, "-I", "-B", "-W", "ignore", "-m", "compileall", "-q", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash",
            "-s", layer_dir, "-p", prefix or layer_dir.name,
            *existing,
        ],
        check=False,
    )  # fmt: skip
