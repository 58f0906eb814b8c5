"""The size report as one self-contained HTML file: a treemap per layer (inline SVG) and the tables.

No scripts, stylesheets, fonts or images are loaded from anywhere: the file
reads the same offline, in any browser.  Hovering a rectangle shows its tooltip
(an SVG ``<title>``).
"""

from __future__ import annotations

from html import escape

from venvstacks.sizes.model import LayerSizes, StackSizes, render_bytes
from venvstacks.sizes.treemap import compute_treemap

WIDTH, HEIGHT = 960, 360
LABEL_HEIGHT = 16  # a rectangle shows its label when the text fits
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")  # fmt: skip
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 10px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 12px system-ui, sans-serif; fill: #fff; pointer-events: none; }
svg rect { stroke: #fff; stroke-width: 1; }
"""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_treemap(layer: LayerSizes) -> str:
    """Return an inline SVG treemap of the layer's packages."""
    rects = compute_treemap([row.bytes for row in layer.packages], WIDTH, HEIGHT)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(layer.build_name)}">'
        )
    ]
    for rect in rects:
        row = layer.packages[rect.index]
        label = f"{row.name} {render_bytes(row.bytes)}"
        parts.append(
            f"<g><title>{escape(label)} ({row.files} files)</title>"
            f'<rect x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.width:.1f}" '
            f'height="{rect.height:.1f}" fill="{COLOURS[rect.index % len(COLOURS)]}"/>'
        )
        if rect.width > 7 * len(label) and rect.height > LABEL_HEIGHT:
            parts.append(f'<text x="{rect.x + 4:.1f}" y="{rect.y + 14:.1f}">{escape(label)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def render_sizes_html(sizes: StackSizes) -> str:
    """Render the whole report as an HTML document."""
    body = ["<h1>Where the bytes go</h1>", "<h2>Layers</h2>"]
    body.append(
        _table(
            ["layer", "install target", "unpacked", "files", "bytecode", "archives"],
            [
                [
                    layer.build_name,
                    layer.install_target,
                    render_bytes(layer.unpacked_bytes),
                    str(layer.file_count),
                    render_bytes(layer.bytecode_bytes),
                    ", ".join(f"{a.format} {render_bytes(a.bytes)}" for a in layer.archives)
                    or "not published",
                ]
                for layer in sizes.layers
            ],
            {2, 3, 4},
        )
    )
    for layer in sizes.layers:
        body.append(f"<h2>{escape(layer.build_name)}: {render_bytes(layer.unpacked_bytes)}</h2>")
        body.append(render_treemap(layer))
        body.append(
            _table(
                ["package", "version", "bytes", "files", "why it is there"],
                [
                    [r.name, r.version, render_bytes(r.bytes), str(r.files), "; ".join(r.reasons)]
                    for r in layer.packages
                ],
                {2, 3},
            )
        )
    if sizes.shadowed:
        body.append("<h2>Shadowed packages</h2>")
        body.append(
            _table(
                ["application", "package", "used from", "shadowed in", "bytes"],
                [
                    [
                        s.application,
                        s.package,
                        f"{s.used_in[0]} ({s.used_in[1]})",
                        ", ".join(f"{n} ({v})" for n, v in s.shadowed_in),
                        render_bytes(s.shadowed_bytes),
                    ]
                    for s in sizes.shadowed
                ],
                {4},
            )
        )
    if sizes.identical:
        body.append("<h2>Identical files in several layers</h2>")
        body.append(
            _table(
                ["bytes", "stored in"],
                [
                    [render_bytes(f.bytes), ", ".join(f"{n}: {p}" for n, p in f.locations)]
                    for f in sizes.identical[:50]
                ],
                {0},
            )
        )
    if (c := sizes.comparison) is not None:
        body.append(f"<h2>Update download: {render_bytes(c.download_bytes)}</h2>")
        body.append(
            _table(
                ["layer", "install target", "was", "download"],
                [
                    [
                        u.build_name,
                        u.install_target,
                        u.previous_install_target or "(new)",
                        render_bytes(u.download_bytes),
                    ]
                    for u in c.changed
                ],
                {3},
            )
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>venvstacks sizes</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
