"""The publication commit: at every step the manifest describes a complete publication."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from venvstacks.fs import render_json
from venvstacks.publish.commit import (
    JOURNAL_NAME,
    PublicationChange,
    commit_publication,
    compute_staged_name,
    find_named_archives,
    recover_publication,
)

MANIFEST = "__venvstacks__/venvstacks.json"


def entry(name: str, archive: str, data: bytes, build: int) -> dict[str, Any]:
    return {
        "layer_name": name,
        "install_target": name,
        "archive_build": build,
        "archive_name": archive,
        "archive_size": len(data),
        "archive_hashes": {"sha256": hashlib.sha256(data).hexdigest()},
    }


def publication(archives: dict[str, bytes], build: int) -> PublicationChange:
    """Metadata for the layers *archives* holds (layer name = archive stem)."""
    entries = [entry(a.split(".")[0], a, data, build) for a, data in archives.items()]
    writes = [
        (f"__venvstacks__/env_metadata/{e['layer_name']}.json", render_json(e)) for e in entries
    ]
    writes.append((MANIFEST, render_json({"layers": {"applications": entries}})))
    return PublicationChange(tuple((compute_staged_name(a), a) for a in archives), tuple(writes))


def publish(out: Path, archives: dict[str, bytes], build: int) -> None:
    out.mkdir(exist_ok=True)
    for name, data in archives.items():
        (out / compute_staged_name(name)).write_bytes(data)
    commit_publication(out, publication(archives, build))


def assert_complete(out: Path) -> dict[str, bytes]:
    """Every archive the manifest and layer files name is there with its size and hash."""
    manifest = json.loads((out / MANIFEST).read_text())
    files = [*(out / "__venvstacks__/env_metadata").glob("*.json")]
    for data in [manifest, *(json.loads(p.read_text()) for p in files)]:
        entries = data["layers"]["applications"] if "layers" in data else [data]
        for metadata in entries:
            archive = out / metadata["archive_name"]
            assert archive.is_file(), metadata
            content = archive.read_bytes()
            assert hashlib.sha256(content).hexdigest() == metadata["archive_hashes"]["sha256"]
    return {
        m["layer_name"]: (out / m["archive_name"]).read_bytes()
        for m in manifest["layers"]["applications"]
    }


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


class Killed(BaseException):
    """Stands for the process being killed at one file-system mutation."""


def kill_at(monkeypatch: pytest.MonkeyPatch, step: int) -> list[int]:
    """Make the *step*-th file-system mutation raise `Killed`."""
    count = [0]

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] == step:
                raise Killed
            return original(*args, **kwargs)

        return wrapper

    for name in ("rename", "replace", "unlink"):
        monkeypatch.setattr(Path, name, counted(getattr(Path, name)))
    monkeypatch.setattr(os, "link", counted(os.link))
    monkeypatch.setattr(os, "fdopen", counted(os.fdopen))  # atomic_output's write
    monkeypatch.setattr(shutil, "rmtree", counted(shutil.rmtree))
    return count


OLD = {"app-a.tar.gz": b"old a", "app-b.tar.gz": b"old b"}
# b is rewritten under its name; c is new.
NEW = {"app-b.tar.gz": b"new b", "app-c.tar.gz": b"new c"}


def test_rewriting_an_archive_under_its_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, OLD, 1)
    assert assert_complete(out) == {"app-a": b"old a", "app-b": b"old b"}
    publish(out, NEW, 2)
    assert assert_complete(out) == {"app-b": b"new b", "app-c": b"new c"}
    assert sorted(tree(out)) == [
        "__venvstacks__/env_metadata/app-a.json",  # from the earlier run, as before
        "__venvstacks__/env_metadata/app-b.json",
        "__venvstacks__/env_metadata/app-c.json",
        MANIFEST,
        "app-a.tar.gz",
        "app-b.tar.gz",
        "app-c.tar.gz",
    ]


@pytest.mark.parametrize("step", range(1, 40))
def test_a_commit_killed_at_any_step_leaves_a_complete_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    reference = tmp_path / "reference"
    publish(reference, OLD, 1)
    publish(reference, NEW, 2)
    out = tmp_path / "out"
    publish(out, OLD, 1)
    previous = tree(out)
    for name, data in NEW.items():
        (out / compute_staged_name(name)).write_bytes(data)
    with monkeypatch.context() as patch:
        count = kill_at(patch, step)
        try:
            commit_publication(out, publication(NEW, 2))
        except Killed:
            pass
        else:
            assert count[0] < step
            return
    # The previous publication or the new one, never anything else.
    found = assert_complete(out)
    assert found in (
        {"app-a": b"old a", "app-b": b"old b"},
        {"app-b": b"new b", "app-c": b"new c"},
    )
    committed = "app-c" in found or (out / "__venvstacks__" / JOURNAL_NAME).exists()
    recovery = recover_publication(out)
    assert recovery
    assert recovery.render().startswith(f"recovered {out} after an interrupted run: ")
    # Once the journal is written the commit is finished, else the staged archives go.
    assert tree(out) == (tree(reference) if committed else previous)
    assert not recover_publication(out)


def test_leftovers_are_removed_unless_metadata_names_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, OLD, 1)
    (out / ".app-c.tar.gz.staged").write_bytes(b"x" * 2000)
    (out / "..app-c.tar.gz.staged.abcd_123.tmp").write_bytes(b"x")
    (out / ".held-app-a.tar.gz").write_bytes(b"old a")
    (out / "__venvstacks__/.venvstacks.json.k9k9k9k9.tmp").write_text("{")
    (out / ".gitignore").write_text("*\n")  # not ours
    recovery = recover_publication(out)
    assert recovery.render() == (
        f"recovered {out} after an interrupted run: removed 4 leftovers (2.0 kB)"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        ".gitignore", "__venvstacks__", "app-a.tar.gz", "app-b.tar.gz",
    ]  # fmt: skip
    # A held archive that metadata names (an abandoned commit) stays.
    (out / ".held-app-a.tar.gz").write_bytes(b"old a")
    path = out / "__venvstacks__/env_metadata/app-a.json"
    path.write_text(path.read_text().replace('"app-a.tar.gz"', '".held-app-a.tar.gz"'))
    assert ".held-app-a.tar.gz" in find_named_archives(out)
    assert not recover_publication(out)
    assert (out / ".held-app-a.tar.gz").exists()


def test_a_journal_whose_archives_are_gone_is_dropped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, OLD, 1)
    before = tree(out)
    journal = {"holds": [], "moves": [[".app-z.tar.gz.staged", "app-z.tar.gz"]], "writes": []}
    (out / "__venvstacks__" / JOURNAL_NAME).write_text(json.dumps(journal))
    recovery = recover_publication(out)
    assert recovery.render() == (
        f"recovered {out} after an interrupted run: removed 1 leftover (0 bytes)"
    )
    assert tree(out) == before


def test_the_steps_above_cover_the_whole_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    publish(out, OLD, 1)
    for name, data in NEW.items():
        (out / compute_staged_name(name)).write_bytes(data)
    count = kill_at(monkeypatch, 0)
    commit_publication(out, publication(NEW, 2))
    assert 10 < count[0] < 39
