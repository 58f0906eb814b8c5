from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.stacks import snapshot
from venvstacks.deploy.swap import (
    PREVIOUS_DIR,
    compute_tree_size,
    create_staging,
    find_staging_folders,
    move_in,
    move_out,
    remove_staging,
)


def _layer(folder: Path, content: str) -> None:
    folder.mkdir(parents=True)
    (folder / "version.txt").write_text(content)


def _versions(target: Path) -> dict[str, str]:
    return {
        p.name: (p / "version.txt").read_text()
        for p in sorted(target.iterdir())
        if not p.name.startswith(".")
    }


def _staged(target: Path) -> Path:
    _layer(target / "a", "old a")
    staging = create_staging(target)
    _layer(staging / "a", "new a")
    _layer(staging / "b", "new b")
    return staging


def test_move_in_and_out(tmp_path: Path) -> None:
    staging = _staged(tmp_path)
    assert staging.parent == tmp_path
    assert staging.name.startswith(".venvstacks-staging-")
    assert find_staging_folders(tmp_path) == [staging]
    staged = snapshot(tmp_path)
    move_in(tmp_path, staging, ["a", "b"])
    assert _versions(tmp_path) == {"a": "new a", "b": "new b"}
    assert (staging / PREVIOUS_DIR / "a/version.txt").read_text() == "old a"
    move_out(tmp_path, staging, ["a", "b"])
    assert snapshot(tmp_path) == {**staged, f"{staging.name}/{PREVIOUS_DIR}": ("dir",)}
    assert remove_staging(staging) == len("new a") + len("new b")
    assert find_staging_folders(tmp_path) == []
    assert _versions(tmp_path) == {"a": "old a"}


def _interrupt_after(calls: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Path.rename
    count = 0

    def rename(self: Path, target: Path) -> Path:
        nonlocal count
        count += 1
        if count > calls:
            raise KeyboardInterrupt
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)


@pytest.mark.parametrize("renames", [0, 1, 2])
def test_an_interrupted_move_in_finishes_when_run_again(
    tmp_path: Path, renames: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = _staged(tmp_path)
    with monkeypatch.context() as patch:
        _interrupt_after(renames, patch)
        with pytest.raises(KeyboardInterrupt):
            move_in(tmp_path, staging, ["a", "b"])
    move_in(tmp_path, staging, ["a", "b"])
    assert _versions(tmp_path) == {"a": "new a", "b": "new b"}
    assert _versions(staging / PREVIOUS_DIR) == {"a": "old a"}


@pytest.mark.parametrize("renames", [0, 1, 2])
def test_an_interrupted_move_out_finishes_when_run_again(
    tmp_path: Path, renames: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = _staged(tmp_path)
    move_in(tmp_path, staging, ["a", "b"])
    with monkeypatch.context() as patch:
        _interrupt_after(renames, patch)
        with pytest.raises(KeyboardInterrupt):
            move_out(tmp_path, staging, ["a", "b"])
    move_out(tmp_path, staging, ["a", "b"])
    assert _versions(tmp_path) == {"a": "old a"}
    assert _versions(staging) == {"a": "new a", "b": "new b"}


def test_tree_size_counts_files_not_link_targets(tmp_path: Path) -> None:
    _layer(tmp_path / "x", "12345")
    (tmp_path / "x/link").symlink_to("version.txt")
    assert compute_tree_size(tmp_path / "x") == 5 + len("version.txt")
    assert compute_tree_size(tmp_path / "gone") == 0
