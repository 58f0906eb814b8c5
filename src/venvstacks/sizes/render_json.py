"""The size report as JSON (format ``venvstacks-sizes/1``, documented in docs/sizes.md)."""

from __future__ import annotations

import json
from typing import Any

from venvstacks.sizes.model import StackSizes

FORMAT = "venvstacks-sizes/1"


def compute_sizes_data(sizes: StackSizes) -> dict[str, Any]:
    """Return the report as plain JSON-ready data."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "layers": [
            {
                "layer_name": layer.build_name,
                "install_target": layer.install_target,
                "kind": layer.kind,
                "unpacked_bytes": layer.unpacked_bytes,
                "file_count": layer.file_count,
                "bytecode_bytes": layer.bytecode_bytes,
                "archives": [
                    {"format": a.format, "archive_name": a.name, "bytes": a.bytes}
                    for a in layer.archives
                ],
                "packages": [
                    {
                        "name": row.name,
                        "version": row.version,
                        "bytes": row.bytes,
                        "files": row.files,
                        "largest_files": [{"path": p, "bytes": b} for p, b in row.largest],
                        "reasons": list(row.reasons),
                    }
                    for row in layer.packages
                ],
            }
            for layer in sizes.layers
        ],
        "shadowed": [
            {
                "application": s.application,
                "package": s.package,
                "used_in": {"layer_name": s.used_in[0], "version": s.used_in[1]},
                "shadowed_in": [{"layer_name": n, "version": v} for n, v in s.shadowed_in],
                "shadowed_bytes": s.shadowed_bytes,
            }
            for s in sizes.shadowed
        ],
        "identical_files": [
            {
                "sha256": f.sha256,
                "bytes": f.bytes,
                "duplicate_bytes": f.duplicate_bytes,
                "locations": [{"layer_name": n, "path": p} for n, p in f.locations],
            }
            for f in sizes.identical
        ],
        "what_if_excluded": [
            {
                "package": e.package,
                "saved_bytes": e.saved_bytes,
                "layers": [{"layer_name": n, "bytes": b, "files": c} for n, b, c in e.layers],
                "needed_by": list(e.needed_by),
            }
            for e in sizes.exclusions
        ],
        "comparison": None,
    }
    if (c := sizes.comparison) is not None:
        data["comparison"] = {
            "download_bytes": c.download_bytes,
            "full_download_bytes": c.full_download_bytes,
            "changed": [
                {
                    "layer_name": u.build_name,
                    "install_target": u.install_target,
                    "previous_install_target": u.previous_install_target,
                    "download_bytes": u.download_bytes,
                }
                for u in c.changed
            ],
            "unchanged": list(c.unchanged),
        }
    return data


def render_sizes_json(sizes: StackSizes) -> str:
    """Render the report as JSON (sorted keys, 2-space indent, final newline)."""
    return json.dumps(compute_sizes_data(sizes), indent=2, sort_keys=True) + "\n"
