"""docs/store.schema.json is the schema of the models the store reads and prints."""

from __future__ import annotations

import json
from pathlib import Path

from venvstacks.store.schema import DOCUMENTS, render_schema

SCHEMA = Path(__file__).parents[2] / "docs/store.schema.json"


def test_the_documented_schema_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render_schema(), (
        "docs/store.schema.json is out of date; regenerate it as venvstacks/store/schema.py says"
    )


def test_every_format_forbids_unknown_fields() -> None:
    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]
    for model, _ in DOCUMENTS.values():
        assert definitions[model.__name__]["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in definitions.values())
