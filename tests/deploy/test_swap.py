from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.stacks import snapshot
from venvstacks.deploy.swap import (
    PREVIOUS_DIR,
    Move,
    discard_previous,
    restore,
    staging_folder,
    swap_in,
)
from venvstacks.errors import DeployError


def _layer(folder: Path, content: str) -> None:
    folder.mkdir(parents=True)
    (folder / "version.txt").write_text(content)


def test_swap_in_and_restore(tmp_path: Path) -> None:
    _layer(tmp_path / "a", "old a")
    before = snapshot(tmp_path)
    with staging_folder(tmp_path) as staging:
        assert staging.parent == tmp_path
        assert staging.name.startswith(".venvstacks-staging-")
        _layer(staging / "a", "new a")
        _layer(staging / "b", "new b")
        moves = swap_in(staging, tmp_path, ["a", "b"])
        assert moves == (
            Move(tmp_path / "a", staging / PREVIOUS_DIR / "a"),
            Move(tmp_path / "b", None),
        )
        assert (tmp_path / "a/version.txt").read_text() == "new a"
        assert (tmp_path / "b/version.txt").read_text() == "new b"
        restore(moves)
    assert snapshot(tmp_path) == before


def test_swap_in_keeps_the_new_folders_once_previous_ones_are_discarded(tmp_path: Path) -> None:
    _layer(tmp_path / "a", "old a")
    with staging_folder(tmp_path) as staging:
        _layer(staging / "a", "new a")
        swap_in(staging, tmp_path, ["a"])
        discard_previous(staging)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert (tmp_path / "a/version.txt").read_text() == "new a"


def test_a_failed_move_undoes_the_earlier_ones(tmp_path: Path) -> None:
    _layer(tmp_path / "a", "old a")
    before = snapshot(tmp_path)
    with staging_folder(tmp_path) as staging:
        _layer(staging / "a", "new a")
        with pytest.raises(FileNotFoundError):
            swap_in(staging, tmp_path, ["a", "missing"])
    assert snapshot(tmp_path) == before


def test_staging_with_unrestored_layers_is_kept(tmp_path: Path) -> None:
    with staging_folder(tmp_path) as staging:
        _layer(staging / PREVIOUS_DIR / "a", "old a")
        gone = staging / PREVIOUS_DIR / "b"  # can't be renamed back: it isn't there
        with pytest.raises(DeployError) as info:
            restore(
                [Move(tmp_path / "a", staging / PREVIOUS_DIR / "a"), Move(tmp_path / "b", gone)]
            )
    assert str(info.value) == (
        f"could not restore the previous deployment of {gone}; move those folders back by hand"
    )
    assert (tmp_path / "a/version.txt").read_text() == "old a"
    assert not staging.exists()  # nothing was left in it


def test_staging_holding_previous_layers_is_kept(tmp_path: Path) -> None:
    with staging_folder(tmp_path) as staging:
        _layer(staging / PREVIOUS_DIR / "a", "old a")
    assert (staging / PREVIOUS_DIR / "a/version.txt").read_text() == "old a"
