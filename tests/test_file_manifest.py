"""File manifests: records from archive entries, rendering and parsing."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import pytest

from venvstacks.archives import ArchiveEntry, collect_entries
from venvstacks.file_manifest import (
    FileManifestError,
    FileRecord,
    compute_file_records,
    parse_file_manifest,
    render_file_manifest,
)


def make_layer(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/tool").write_text("#!/bin/sh\n")
    (root / "bin/tool").chmod(0o755)
    (root / "bin/python").symlink_to("../runtime/bin/python")
    (root / "lib").mkdir()
    (root / "lib/mod.py").write_text("x = 1\n")
    return root


def test_records_cover_every_entry_and_the_rendered_paths(tmp_path: Path) -> None:
    entries = collect_entries(make_layer(tmp_path / "layer"))
    records = compute_file_records(entries, [("pyvenv.cfg", "file"), ("bin/python", "symlink")])
    assert records == [
        FileRecord("bin", "folder", 0o755),
        FileRecord("bin/python", "symlink", 0o777, rendered=True),
        FileRecord("bin/tool", "file", 0o755, size=10, sha256=records[2].sha256),
        FileRecord("lib", "folder", 0o755),
        FileRecord("lib/mod.py", "file", 0o644, size=6, sha256=records[4].sha256),
        FileRecord("pyvenv.cfg", "file", 0o644, rendered=True),
    ]
    assert records[4].sha256 == hashlib.sha256(b"x = 1\n").hexdigest()


def test_render_and_parse_round_trip(tmp_path: Path) -> None:
    entries = [
        *collect_entries(make_layer(tmp_path / "layer")),
        ArchiveEntry(PurePosixPath("data.bin"), "file", 0, data=b"\0" * 3),
    ]
    records = compute_file_records(entries, [("pyvenv.cfg", "file")])
    text = render_file_manifest(records)
    assert parse_file_manifest(text) == records
    assert text == render_file_manifest(parse_file_manifest(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not JSON (Expecting value: line 1 column 2 (char 1))"),
        ('{"format": "other"}', "not a venvstacks-files/1 file manifest"),
        (
            '{"format": "venvstacks-files/1", "files": [{"path": "../x", "kind": "file", "mode": "0644"}]}',
            "files[0].path: '../x' is not a path inside the layer",
        ),
        (
            '{"format": "venvstacks-files/1", "files": [{"path": "x", "kind": "pipe", "mode": "0644"}]}',
            "files[0].kind: 'pipe' is not file, symlink or folder",
        ),
    ],
)
def test_bad_manifests(text: str, message: str) -> None:
    with pytest.raises(FileManifestError) as caught:
        parse_file_manifest(text)
    assert str(caught.value) == message
