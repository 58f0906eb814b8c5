"""The deploy journal: commit, recovery of an interrupted switch, leftovers, bad journals."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from venvstacks.deploy import journal as journal_module
from venvstacks.deploy.journal import (
    JOURNAL_NAME,
    Journal,
    Recovery,
    commit,
    recover,
    render_recovery,
)
from venvstacks.deploy.record import RECORD_NAME, load_record
from venvstacks.deploy.swap import PREVIOUS_DIR, create_staging, find_staging_folders
from venvstacks.errors import DeployError
from venvstacks.tools._subprocess import Completed

RECORD = {"a": "sha256:" + "a" * 64, "b": "sha256:" + "b" * 64}


def _layer(folder: Path, content: str) -> None:
    folder.mkdir(parents=True)
    (folder / "version.txt").write_text(content)


def _versions(target: Path) -> dict[str, str]:
    return {
        p.name: (p / "version.txt").read_text()
        for p in sorted(target.iterdir())
        if not p.name.startswith(".")
    }


def _prepare(target: Path) -> Journal:
    _layer(target / "a", "old a")
    staging = create_staging(target)
    _layer(staging / "a", "new a")
    _layer(staging / "b", "new b")
    return Journal(staging=staging.name, layers=("a", "b"), record=RECORD)


def _leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.iterdir() if p.name.startswith("."))


def test_commit_switches_records_and_cleans_up(tmp_path: Path) -> None:
    commit(tmp_path, _prepare(tmp_path))
    assert _versions(tmp_path) == {"a": "new a", "b": "new b"}
    assert load_record(tmp_path) == RECORD
    assert _leftovers(tmp_path) == [RECORD_NAME]


def test_an_interrupted_switch_leaves_the_journal_and_recovery_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _prepare(tmp_path)

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(journal_module, "move_in", killed)
        with pytest.raises(KeyboardInterrupt):
            commit(tmp_path, journal)
    assert json.loads((tmp_path / JOURNAL_NAME).read_text()) == {
        "format": 1,
        "staging": journal.staging,
        "layers": ["a", "b"],
        "postinstall_in_place": [],
        "record": RECORD,
    }
    assert _versions(tmp_path) == {"a": "old a"}
    recovery = recover(tmp_path)
    assert recovery.finished == ("a", "b")
    assert recovery.removed == (journal.staging,)
    assert recovery.removed_bytes == len("old a")  # the previous layer, kept aside until now
    assert render_recovery(tmp_path, recovery) == (
        f"recovered {tmp_path}: finished the interrupted switch to a, b; "
        "removed 1 leftover (0.0 MB)"
    )
    assert _versions(tmp_path) == {"a": "new a", "b": "new b"}
    assert load_record(tmp_path) == RECORD
    assert _leftovers(tmp_path) == [RECORD_NAME]
    assert recover(tmp_path) == Recovery()
    assert render_recovery(tmp_path, Recovery()) == ""


def test_recovery_after_a_half_finished_switch(tmp_path: Path) -> None:
    journal = _prepare(tmp_path)
    (tmp_path / JOURNAL_NAME).write_text(journal.model_dump_json())
    staging = tmp_path / journal.staging
    (staging / PREVIOUS_DIR).mkdir()
    (tmp_path / "a").rename(staging / PREVIOUS_DIR / "a")  # killed between a's two renames
    assert recover(tmp_path).finished == ("a", "b")
    assert _versions(tmp_path) == {"a": "new a", "b": "new b"}
    assert _leftovers(tmp_path) == [RECORD_NAME]


def test_in_place_post_install_runs_after_the_move(tmp_path: Path) -> None:
    journal = _prepare(tmp_path).model_copy(update={"postinstall_in_place": ("b",)})
    for name in ("a", "b"):
        config = tmp_path / journal.staging / name / "share/venv/metadata/venvstacks_layer.json"
        config.parent.mkdir(parents=True)
        python = "bin/python"
        config.write_text(json.dumps({"python": python, "base_python": python, "site_dir": "."}))
    ran: list[tuple[str, ...]] = []

    def runner(
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,  # noqa: ARG001
        cwd: Path | None = None,
        check: bool = True,  # noqa: ARG001
        failure: str = "",  # noqa: ARG001
    ) -> Completed:
        assert cwd is not None
        ran.append((*map(str, args), str(cwd)))
        return Completed(tuple(map(str, args)), 0, "", "")

    commit(tmp_path, journal, runner=runner)
    b = tmp_path / "b"
    assert ran == [(str(b / "bin/python"), "-X", "utf8", "-I", str(b / "postinstall.py"), str(b))]


def test_a_failed_move_puts_the_previous_layers_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _prepare(tmp_path)
    real = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if self.name == "b":
            raise PermissionError(13, "Permission denied")
        return real(self, target)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "rename", rename)
        with pytest.raises(DeployError) as info:
            commit(tmp_path, journal)
    assert str(info.value) == (
        f"{tmp_path}: could not move the new layers into place ([Errno 13] Permission denied); "
        "the previous deployment is restored"
    )
    assert _versions(tmp_path) == {"a": "old a"}
    assert _leftovers(tmp_path) == []


def test_leftovers_without_a_journal_are_removed(tmp_path: Path) -> None:
    _layer(tmp_path / "a", "kept")
    staging = create_staging(tmp_path)
    _layer(staging / "half-unpacked", "1234")
    (tmp_path / f".{RECORD_NAME}.x1y2").write_text("{")
    (tmp_path / f".{JOURNAL_NAME}.z3").write_text("")
    (tmp_path / ".hidden-by-the-user").write_text("mine")
    recovery = recover(tmp_path)
    assert recovery == Recovery(
        (), (staging.name, f".{JOURNAL_NAME}.z3", f".{RECORD_NAME}.x1y2"), 5
    )
    assert render_recovery(tmp_path, recovery) == (
        f"recovered {tmp_path}: removed 3 leftovers (0.0 MB)"
    )
    assert find_staging_folders(tmp_path) == []
    assert _leftovers(tmp_path) == [".hidden-by-the-user"]
    assert _versions(tmp_path) == {"a": "kept"}


def test_a_journal_whose_staging_folder_is_gone_is_dropped(tmp_path: Path) -> None:
    _layer(tmp_path / "a", "old a")
    journal = Journal(staging=".venvstacks-staging-gone", layers=("a",), record=RECORD)
    (tmp_path / JOURNAL_NAME).write_text(journal.model_dump_json())
    assert recover(tmp_path) == Recovery()
    assert _leftovers(tmp_path) == []
    assert load_record(tmp_path) == {}  # not claimed: the next deploy unpacks them again


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (
            '{"staging": "../elsewhere", "layers": [], "record": {}}',
            "1 validation error for Journal",
        ),
        (
            '{"staging": ".venvstacks-staging-x", "layers": ["../up"], "record": {}}',
            "1 validation error for Journal",
        ),
    ],
)
def test_a_journal_venvstacks_did_not_write_is_refused(
    tmp_path: Path, text: str, detail: str
) -> None:
    (tmp_path / JOURNAL_NAME).write_text(text)
    with pytest.raises(DeployError) as info:
        recover(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / JOURNAL_NAME}: not a deploy journal venvstacks wrote ({detail}); "
        "check the layer folders, then delete it and deploy again"
    )
