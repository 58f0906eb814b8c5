"""The JSON Schema of the store's files and of the ``store`` commands' ``--json`` output.

``docs/store.schema.json`` is this module's output (a test keeps them equal;
regenerate it with ``python -c "from venvstacks.store.schema import
render_schema; print(render_schema(), end='')" > docs/store.schema.json``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from venvstacks.fs import render_json
from venvstacks.store.results import (
    AddResult,
    AppLaunch,
    GcResult,
    PinResult,
    StoreListing,
    SwitchResult,
)
from venvstacks.store.state import LayerRecord, StoreState

# What each top-level definition describes.
DOCUMENTS: dict[str, tuple[type[BaseModel], str]] = {
    "store.json": (StoreState, "STORE/store.json: the store's record"),
    ".venvstacks-layer.json": (
        LayerRecord,
        "STORE/layers/<folder>/.venvstacks-layer.json: a complete layer folder",
    ),
    "store add --json": (AddResult, "The output of 'venvstacks store add --json'"),
    "store list --json": (StoreListing, "The output of 'venvstacks store list --json'"),
    "store switch --json": (
        SwitchResult,
        "The output of 'venvstacks store switch --json' and 'store rollback --json'",
    ),
    "store pin --json": (PinResult, "The output of 'venvstacks store pin/unpin --json'"),
    "store gc --json": (GcResult, "The output of 'venvstacks store gc --json'"),
    "store run": (AppLaunch, "What 'venvstacks.store.find_app' returns"),
}


def compute_schema() -> dict[str, Any]:
    """Return one JSON Schema document with a definition per file and output format."""
    _, top = models_json_schema(
        [(model, "serialization") for model, _ in DOCUMENTS.values()],
        ref_template="#/$defs/{model}",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://venvstacks.invalid/store.schema.json",
        "title": "venvstacks layer store",
        "description": "; ".join(
            f"{name}: $defs/{model.__name__} ({text})" for name, (model, text) in DOCUMENTS.items()
        ),
        "$defs": top["$defs"],
    }


def render_schema() -> str:
    """Render `compute_schema` as JSON (sorted keys, 2-space indent, final newline)."""
    return render_json(compute_schema())
