from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from venvstacks.lock.metadata import (
    LockMetadata,
    load_lock_metadata,
    parse_lock_metadata,
    render_lock_metadata,
    render_locked_at,
    write_lock_metadata,
)

# Written by venvstacks 0.8 (tests/sample_project/requirements/app-scipy-import in
# the 0.8.0b2 sdist).
META_08 = """\
{
  "lock_input_hash": "sha256:b91780636b12da5ea37add0c8d2e659d47184fa8e70242f8d20b86e429afd6e2",
  "lock_version": 4,
  "locked_at": "2025-08-27T00:00:00+00:00",
  "other_inputs_hash": "sha256:f1979da8937d8cf1eac917c0ed15b479f2509631748747640972df6cdab5cf25",
  "requirements_hash": "sha256:a0e6cc630a80d852110f2167ca5d024c7a46e34b38e1536ddaf4302c81383ced",
  "version_inputs_hash": "sha256:604e544b9beb49008e31f22db64e8e8b09524d6daf95bed66f62b40e68dadb22"
}
"""


def make_meta(**changes: object) -> LockMetadata:
    fields: dict[str, object] = {
        "requirements_hash": "sha256:r",
        "lock_input_hash": "sha256:l",
        "other_inputs_hash": "sha256:o",
        "version_inputs_hash": "sha256:v",
        "lock_version": 2,
        "locked_at": datetime(2025, 8, 27, tzinfo=UTC),
    }
    fields.update(changes)
    return LockMetadata.model_validate(fields)


def test_08_metadata_round_trips_byte_for_byte(tmp_path: Path) -> None:
    source = tmp_path / "pylock.app-scipy-import.meta.json"
    source.write_bytes(META_08.encode())
    meta = load_lock_metadata(source)
    assert meta is not None
    assert meta.lock_version == 4
    assert meta.locked_at == datetime(2025, 8, 27, tzinfo=UTC)
    assert meta.deployment_inputs_hash is None
    target = tmp_path / "copy.meta.json"
    write_lock_metadata(target, meta)
    assert target.read_bytes() == META_08.encode()


def test_deployment_inputs_hash_is_written_when_set() -> None:
    text = render_lock_metadata(make_meta(deployment_inputs_hash="sha256:d"))
    assert text == (
        "{\n"
        '  "deployment_inputs_hash": "sha256:d",\n'
        '  "lock_input_hash": "sha256:l",\n'
        '  "lock_version": 2,\n'
        '  "locked_at": "2025-08-27T00:00:00+00:00",\n'
        '  "other_inputs_hash": "sha256:o",\n'
        '  "requirements_hash": "sha256:r",\n'
        '  "version_inputs_hash": "sha256:v"\n'
        "}\n"
    )
    assert parse_lock_metadata(text) == make_meta(deployment_inputs_hash="sha256:d")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2025, 8, 27, tzinfo=UTC), "2025-08-27T00:00:00+00:00"),
        (datetime(2025, 8, 27, 1, 2, 3, 456, tzinfo=UTC), "2025-08-27T01:02:03.000456+00:00"),
        (
            datetime(2025, 8, 27, 2, 0, tzinfo=timezone(timedelta(hours=2))),
            "2025-08-27T00:00:00+00:00",
        ),
    ],
)
def test_render_locked_at(when: datetime, expected: str) -> None:
    assert render_locked_at(when) == expected


def test_render_locked_at_needs_a_timezone() -> None:
    with pytest.raises(
        ValueError, match=r"^lock time datetime\.datetime\(2025, 8, 27, 0, 0\) has no timezone$"
    ):
        render_locked_at(datetime(2025, 8, 27))


def test_microseconds_survive_a_round_trip() -> None:
    meta = make_meta(locked_at=datetime(2025, 1, 2, 3, 4, 5, 600000, tzinfo=UTC))
    text = render_lock_metadata(meta)
    assert '"locked_at": "2025-01-02T03:04:05.600000+00:00"' in text
    assert parse_lock_metadata(text) == meta


def test_missing_file(tmp_path: Path) -> None:
    assert load_lock_metadata(tmp_path / "pylock.x.meta.json") is None


def _with(**changes: object) -> str:
    data = json.loads(META_08)
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        _with(_legacy_requirements_hash="sha256:x"),
        _with(requirements_hash=None),
        _with(lock_version="4"),
        _with(lock_version=0),
        _with(lock_version=True),
        _with(locked_at="2025-08-27T00:00:00"),
        _with(locked_at="yesterday"),
        _with(locked_at=1756252800),
        _with(other_inputs_hash=12),
        _with(deployment_inputs_hash=12),
    ],
    ids=[
        "empty",
        "truncated",
        "array",
        "null",
        "legacy",
        "missing-field",
        "version-as-text",
        "version-zero",
        "version-bool",
        "naive-time",
        "bad-time",
        "numeric-time",
        "hash-not-text",
        "deployment-hash-not-text",
    ],
)
def test_invalid_metadata_counts_as_missing(text: str, tmp_path: Path) -> None:
    assert parse_lock_metadata(text) is None
    path = tmp_path / "pylock.x.meta.json"
    path.write_text(text)
    assert load_lock_metadata(path) is None


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "pylock.x.meta.json"
    path.write_bytes(b"\xff\xfe{")
    assert load_lock_metadata(path) is None


def test_unknown_keys_are_ignored() -> None:
    meta = parse_lock_metadata(_with(future_field="x"))
    assert meta is not None
    assert render_lock_metadata(meta) == META_08


def test_metadata_is_immutable() -> None:
    meta = make_meta()
    with pytest.raises(ValueError, match="frozen"):
        meta.lock_version = 3  # type: ignore[misc]
