from __future__ import annotations

import json
from pathlib import Path

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.deploy.record import (
    RECORD_NAME,
    compute_changed,
    compute_record,
    load_record,
    write_record,
)
from venvstacks.spec.naming import DeployedName, LayerKind


def _layer(name: str, kind: LayerKind, sha: str, *required: str) -> ManifestLayer:
    return ManifestLayer(
        kind=kind,
        layer_name=name,
        install_target=DeployedName(name),
        runtime_layer=DeployedName("rt"),
        required_layers=tuple(DeployedName(r) for r in required),
        launch_module=None,
        archive_name=f"{name}.zip",
        archive_size=1,
        archive_sha256=sha * 64,
    )


RT = _layer("rt", LayerKind.RUNTIME, "1")
FW_A = _layer("fw-a", LayerKind.FRAMEWORK, "2")
FW_B = _layer("fw-b", LayerKind.FRAMEWORK, "3", "fw-a")
APP = _layer("app", LayerKind.APPLICATION, "4", "fw-b", "fw-a")
OTHER = _layer("other", LayerKind.APPLICATION, "5")
LAYERS = (RT, FW_A, FW_B, APP, OTHER)
RECORD: dict[str, str] = {
    layer.install_target: f"sha256:{layer.archive_sha256}" for layer in LAYERS
}
ALL = {layer.install_target for layer in LAYERS}


def test_nothing_changed() -> None:
    assert compute_changed(LAYERS, RECORD, ALL) == frozenset()


def test_missing_folders_and_records() -> None:
    assert compute_changed(LAYERS, {}, ALL) == ALL
    assert compute_changed(LAYERS, RECORD, set()) == ALL
    assert compute_changed(LAYERS, RECORD, ALL - {"other"}) == {"other"}


def test_changes_propagate_to_the_layers_above() -> None:
    assert compute_changed(LAYERS, {**RECORD, "fw-a": "sha256:old"}, ALL) == {"fw-a", "fw-b", "app"}
    assert compute_changed(LAYERS, {**RECORD, "fw-b": "sha256:old"}, ALL) == {"fw-b", "app"}
    assert compute_changed(LAYERS, {**RECORD, "rt": "sha256:old"}, ALL) == ALL
    assert compute_changed(LAYERS, RECORD, ALL - {"app"}) == {"app"}


def test_changes_propagate_whatever_the_listing_order() -> None:
    reordered = (APP, FW_B, FW_A, RT)
    assert compute_changed(reordered, {**RECORD, "fw-a": "x"}, ALL) == {"fw-a", "fw-b", "app"}


def test_record_round_trip(tmp_path: Path) -> None:
    assert load_record(tmp_path) == {}
    record = compute_record({"kept": "sha256:k", "app": "sha256:old"}, [RT, APP])
    assert record == {"kept": "sha256:k", "app": "sha256:" + "4" * 64, "rt": "sha256:" + "1" * 64}
    write_record(tmp_path, record)
    assert load_record(tmp_path) == record
    assert (tmp_path / RECORD_NAME).read_text(encoding="utf-8") == json.dumps(
        {"layers": dict(sorted(record.items()))}, indent=2
    ) + "\n"


def test_unreadable_records_count_as_empty(tmp_path: Path) -> None:
    for text in ("{", "[]", '{"layers": []}'):
        (tmp_path / RECORD_NAME).write_text(text, encoding="utf-8")
        assert load_record(tmp_path) == {}
    (tmp_path / RECORD_NAME).write_text('{"layers": {"a": "sha256:1", "b": 2}}', encoding="utf-8")
    assert load_record(tmp_path) == {"a": "sha256:1"}
