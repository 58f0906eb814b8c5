"""The lock metadata file ``pylock.<group>.meta.json`` (venvstacks 0.8 format, reference §4.3).

It records the hashes a lock was made from, the layer's lock version and when
it was locked.  We add one optional field, ``deployment_inputs_hash`` (see
`venvstacks.lock.versioning`); it is left out of the file when unset, so a file
written by venvstacks 0.8 loads and writes back byte for byte.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)

from venvstacks.fs import render_json, write_text

# Metadata from venvstacks <= 0.7 carries this key; it is never reused (§4.3).
LEGACY_KEY = "_legacy_requirements_hash"


def _require_text(value: object) -> object:
    # Only ISO 8601 text is a valid `locked_at` (no numeric timestamps).
    if not isinstance(value, str | datetime):
        raise ValueError("locked_at must be an ISO 8601 date and time")  # noqa: TRY004
    return value


class LockMetadata(BaseModel):
    """The contents of ``pylock.<group>.meta.json``.

    Hashes are ``sha256:<hex>``.  ``lock_version`` is 1 for unversioned layers
    and counts relocks of versioned ones; ``locked_at`` is timezone-aware.
    Unknown keys are ignored: the format belongs to venvstacks 0.8, not to us.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    requirements_hash: StrictStr
    lock_input_hash: StrictStr
    other_inputs_hash: StrictStr
    version_inputs_hash: StrictStr
    lock_version: Annotated[StrictInt, Field(ge=1)]
    locked_at: Annotated[AwareDatetime, BeforeValidator(_require_text)]
    deployment_inputs_hash: StrictStr | None = None


def render_locked_at(when: datetime) -> str:
    """Render a lock time as 0.8 does: UTC, ``+00:00`` offset, microseconds only if non-zero.

    ``2025-08-27T00:00:00+00:00``.  Raises `ValueError` for a naive datetime.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"lock time {when!r} has no timezone")
    return when.astimezone(UTC).isoformat()


def render_lock_metadata(meta: LockMetadata) -> str:
    """Return the JSON text of *meta*: sorted keys, 2-space indent, final LF."""
    data = meta.model_dump(exclude_none=True)
    data["locked_at"] = render_locked_at(meta.locked_at)
    return render_json(data)


def parse_lock_metadata(text: str) -> LockMetadata | None:
    """Parse lock metadata JSON; ``None`` if it is invalid or from venvstacks <= 0.7."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or LEGACY_KEY in data:
        return None
    try:
        return LockMetadata.model_validate(data)
    except ValidationError:
        return None


def load_lock_metadata(path: Path) -> LockMetadata | None:
    """Read lock metadata from *path*; ``None`` if it is missing, invalid or legacy.

    An invalid file means "not validly locked", so the layer is simply relocked.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return parse_lock_metadata(text)


def write_lock_metadata(path: Path, meta: LockMetadata) -> None:
    """Write *meta* to *path* atomically (see `render_lock_metadata`)."""
    write_text(path, render_lock_metadata(meta))
