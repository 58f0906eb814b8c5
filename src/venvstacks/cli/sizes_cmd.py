"""``venvstacks sizes``: where the bytes of a built stack go (tables, JSON or an HTML file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from venvstacks.cli.options import AllowMissing, BuildDir, Include, SpecPath
from venvstacks.cli.output import Output, run_guarded
from venvstacks.cli.publish_cmd import OutputDir
from venvstacks.errors import SizesError
from venvstacks.fs import write_text
from venvstacks.pipeline import resolve_option_path
from venvstacks.sizes import compute_stack_sizes
from venvstacks.sizes.model import LayerSizes, StackSizes, render_bytes
from venvstacks.sizes.render_html import render_sizes_html
from venvstacks.sizes.render_json import render_sizes_json
from venvstacks.spec.load import load_stack_spec
from venvstacks.spec.selection import select_layers

BAR_WIDTH = 20
IDENTICAL_ROWS = 10


def render_bar(part: int, whole: int) -> str:
    """Return a bar of up to `BAR_WIDTH` blocks proportional to *part* of *whole*."""
    if whole <= 0:
        return ""
    eighths = round(BAR_WIDTH * 8 * part / whole)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _layers_table(sizes: StackSizes) -> Table:
    table = Table(title="Layers", title_justify="left")
    for column in ("layer", "install target", "unpacked", "files", "bytecode", "archives", ""):
        table.add_column(column, justify="right" if column in ("unpacked", "files") else "left")
    largest = max((layer.unpacked_bytes for layer in sizes.layers), default=0)
    for layer in sizes.layers:
        archives = ", ".join(f"{a.format} {render_bytes(a.bytes)}" for a in layer.archives)
        table.add_row(
            layer.build_name,
            layer.install_target,
            render_bytes(layer.unpacked_bytes),
            str(layer.file_count),
            _percent(layer.bytecode_bytes, layer.unpacked_bytes),
            archives or "not published",
            render_bar(layer.unpacked_bytes, largest),
        )
    return table


def _packages_table(layer: LayerSizes, verbose: bool) -> Table:
    title = f"{layer.build_name}: {render_bytes(layer.unpacked_bytes)} in {layer.file_count} files"
    table = Table(title=title, title_justify="left")
    for column in ("package", "version", "bytes", "files", "share", "why it is there"):
        table.add_column(column, justify="right" if column in ("bytes", "files") else "left")
    for row in layer.packages:
        why = "; ".join(row.reasons)
        if verbose:
            why += "".join(f"\n  {render_bytes(b):>10}  {p}" for p, b in row.largest)
        table.add_row(
            row.name,
            row.version,
            render_bytes(row.bytes),
            str(row.files),
            render_bar(row.bytes, layer.unpacked_bytes),
            why,
        )
    return table


def print_sizes(console: Console, sizes: StackSizes, *, verbose: bool) -> None:
    """Print the report as tables."""
    console.print(_layers_table(sizes))
    for layer in sizes.layers:
        console.print(_packages_table(layer, verbose))
    _print_across(console, sizes)
    _print_updates(console, sizes)


def _print_across(console: Console, sizes: StackSizes) -> None:
    if sizes.shadowed:
        table = Table(title="Shadowed packages (only the first on sys.path is used)")
        for column in ("application", "package", "used from", "shadowed in", "bytes"):
            table.add_column(column, justify="right" if column == "bytes" else "left")
        for s in sizes.shadowed:
            table.add_row(
                s.application,
                s.package,
                f"{s.used_in[0]} ({s.used_in[1]})",
                ", ".join(f"{n} ({v})" for n, v in s.shadowed_in),
                render_bytes(s.shadowed_bytes),
            )
        console.print(table)
    if sizes.identical:
        total = sum(f.duplicate_bytes for f in sizes.identical)
        table = Table(
            title=f"Identical files in several layers: {len(sizes.identical)} contents, "
            f"{render_bytes(total)} stored more than once",
            title_justify="left",
        )
        for column in ("bytes", "stored in"):
            table.add_column(column, justify="right" if column == "bytes" else "left")
        for f in sizes.identical[:IDENTICAL_ROWS]:
            table.add_row(render_bytes(f.bytes), "\n".join(f"{n}: {p}" for n, p in f.locations))
        console.print(table)


def _print_updates(console: Console, sizes: StackSizes) -> None:
    if (c := sizes.comparison) is not None:
        console.print(
            f"Update from {c.earlier}: download {render_bytes(c.download_bytes)} "
            f"of {render_bytes(c.full_download_bytes)}"
        )
        table = Table()
        for column in ("layer", "install target", "was", "download"):
            table.add_column(column, justify="right" if column == "download" else "left")
        for u in c.changed:
            table.add_row(
                u.build_name,
                u.install_target,
                u.previous_install_target or "(new)",
                render_bytes(u.download_bytes),
            )
        console.print(table)
        if c.unchanged:
            console.print(f"Unchanged: {', '.join(c.unchanged)}")
    for e in sizes.exclusions:
        where = ", ".join(f"{n} {render_bytes(b)} ({c} files)" for n, b, c in e.layers)
        console.print(
            f"Excluding {e.package} would save {render_bytes(e.saved_bytes)}"
            + (f": {where}" if where else " (not installed in these layers)")
        )
        if e.needed_by:
            console.print(f"  but it is required by: {', '.join(e.needed_by)}")


def sizes(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),
    output_dir: OutputDir = Path("_artifacts"),
    json_output: Annotated[
        bool, typer.Option("--json/--no-json", help="Print the report as JSON.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write the report as one self-contained HTML file (treemaps and tables).",
            show_default=False,
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            metavar="ARTIFACT_DIR",
            help="An earlier publication's output folder: report what updating from it downloads.",
            show_default=False,
        ),
    ] = None,
    what_if_excluded: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if-excluded",
            metavar="NAME",
            help="Report what leaving this package out of the built layers would save (repeatable).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show where the bytes of the built layers go: per layer, per package, across layers.

    Reads the build folder (and the archives' metadata in the output folder, when
    published); changes nothing.  Per package: installed bytes (from its RECORD,
    with its bytecode) and why it is there.  Across layers: packages shadowed in
    an application's stack and identical files stored in several layers.
    """
    output: Output = ctx.obj

    def action() -> None:
        spec = load_stack_spec(spec_path)
        selection = select_layers(spec.graph, include or (), allow_missing=allow_missing)
        output.warn_loaded(spec.warnings, selection.unmatched)
        result = compute_stack_sizes(
            spec,
            selection.layers,
            build_dir=resolve_option_path(spec, build_dir),
            output_dir=resolve_option_path(spec, output_dir),
            compare=None if compare is None else compare.absolute(),
            what_if_excluded=what_if_excluded or (),
        )
        if html is not None:
            try:
                write_text(html, render_sizes_html(result))
            except OSError as exc:
                raise SizesError(f"{html}: can't write the HTML report ({exc.strerror})") from None
        if json_output:
            typer.echo(render_sizes_json(result), nl=False)
        elif output.verbosity >= 0:
            width = None if sys.stdout.isatty() else 160
            console = Console(width=width, highlight=False, soft_wrap=False)
            print_sizes(console, result, verbose=output.verbosity > 0)

    run_guarded(output, action)
