"""``venvstacks python ...``: managing the base runtimes layers are built on."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from venvstacks.cli.options import PythonMirror
from venvstacks.cli.output import Output, run_guarded
from venvstacks.runtimes.install import find_runtime_source
from venvstacks.runtimes.mirror import MIRROR_ENV_VAR, find_mirror_archives
from venvstacks.runtimes.pack import pack_python

python_app = typer.Typer(
    name="python",
    help="Base runtimes: pack a local CPython into a mirror folder, list a mirror folder.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@python_app.command()
def pack(
    ctx: typer.Context,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir",
            "-o",
            metavar="DIR",
            help="Folder to write the archive to (a python mirror folder).",
        ),
    ],
    python: Annotated[
        Path,
        typer.Option(
            "--python",
            metavar="PATH",
            help="Interpreter (or installation prefix) to pack; default: the Python running venvstacks.",
            show_default=False,
        ),
    ] = Path(sys.executable),
    build_tag: Annotated[
        str,
        typer.Option(
            "--build-tag",
            metavar="TAG",
            help="Build tag written into the archive name (after '+').",
        ),
    ] = "local",
) -> None:
    """Pack a local CPython installation into a relocatable runtime archive (Linux only).

    The archive has the python-build-standalone 'install_only' layout, so a folder
    of them can be passed as --python-mirror to install runtimes without network.
    site-packages contents, the test suite, __pycache__ folders and the static
    libpython are left out.  Packing the same installation twice gives identical
    bytes (mtimes are clamped to SOURCE_DATE_EPOCH when it is set).
    """
    output: Output = ctx.obj

    def action() -> None:
        packed = pack_python(python, output_dir, build_tag=build_tag)
        size = packed.archive.stat().st_size
        output.detail(f"{packed.relocated_elf_files} ELF files made relocatable")
        if output.verbosity >= 0:
            typer.echo(
                f"Packed CPython {packed.python.version} ({packed.python.prefix}) into "
                f"{packed.archive} ({size / 1e6:.1f} MB)"
            )

    run_guarded(output, action)


@python_app.command("list")
def list_mirror(
    ctx: typer.Context,
    python_mirror: PythonMirror = None,
    json_output: Annotated[
        bool, typer.Option("--json/--no-json", help="Print machine-readable JSON.")
    ] = False,
) -> None:
    """List the runtime archives a python mirror folder offers to uv.

    For each version and platform only the newest build is used, and the stripped
    archive when both flavors are present.
    """
    output: Output = ctx.obj

    def action() -> None:
        source = find_runtime_source(python_mirror, os.environ)
        if source.mirror is None:
            typer.echo(
                f"No python mirror given (--python-mirror or {MIRROR_ENV_VAR}); runtimes are downloaded by uv."
            )
            return
        archives = find_mirror_archives(source.mirror)
        if json_output:
            rows = [
                {
                    "version": str(a.name.version),
                    "platform": a.name.triple,
                    "build": a.name.build,
                    "file": a.path.name,
                    "sha256": a.sha256,
                }
                for a in archives
            ]
            typer.echo(
                json.dumps(
                    {"mirror": str(source.mirror), "archives": rows}, indent=2, sort_keys=True
                )
            )
            return
        typer.echo(f"{source.mirror}: {len(archives)} runtime archive(s)")
        for a in archives:
            typer.echo(
                f"  cpython@{a.name.version}  {a.name.triple}  build {a.name.build}  {a.path.name}"
            )

    run_guarded(output, action)
