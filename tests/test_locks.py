"""Tests for venvstacks.locks: one lock per folder, with who holds it."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from tests.locking import lock_holder, release
from venvstacks.errors import FolderLockedError
from venvstacks.locks import (
    HOLDER_NAME,
    LOCK_NAME,
    LockHolder,
    hold_folder_lock,
    hold_folder_locks,
    load_holder,
    render_command_line,
    render_locked_message,
    render_timestamp,
)

HOST = socket.gethostname()


def test_holder_description_is_written_and_removed(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "_build"
    with hold_folder_lock(folder, command="build"):
        data = json.loads((folder / HOLDER_NAME).read_text(encoding="utf-8"))
        assert data["pid"] == os.getpid()
        assert data["host"] == HOST
        assert data["command"] == "build"
        assert (folder / LOCK_NAME).exists()
    assert not (folder / HOLDER_NAME).exists()


def test_second_holder_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    with lock_holder(tmp_path, "build", "--clean") as holder:
        since = load_holder(tmp_path).since
        with pytest.raises(FolderLockedError) as caught, hold_folder_lock(tmp_path, command="x"):
            pass
    assert str(caught.value) == (
        f"{tmp_path}: in use by pid {holder.pid} on host {HOST} (venvstacks build --clean) "
        f"since {since}; wait for it to finish, or pass --lock-timeout SECONDS to wait for it"
    )


def test_waiter_reports_the_holder_and_gets_the_lock_when_it_finishes(tmp_path: Path) -> None:
    seen: list[LockHolder] = []
    done: list[Path] = []
    with lock_holder(tmp_path, "deploy", "ART") as holder:

        def on_wait(who: LockHolder) -> None:
            seen.append(who)
            release(holder)  # the holder finishes while we wait

        with hold_folder_lock(
            tmp_path, command="deploy", timeout=30, on_wait=on_wait, on_done=done.append
        ):
            assert (
                json.loads((tmp_path / HOLDER_NAME).read_text(encoding="utf-8"))["pid"]
                == os.getpid()
            )
    assert seen[0].pid == holder.pid
    assert seen[0].command == "venvstacks deploy ART"
    assert done == [tmp_path]


def test_waiter_gives_up_after_the_timeout(tmp_path: Path) -> None:
    done: list[Path] = []
    with lock_holder(tmp_path, "publish") as holder:
        since = load_holder(tmp_path).since
        with (
            pytest.raises(FolderLockedError) as caught,
            hold_folder_lock(tmp_path, command="publish", timeout=0.3, on_done=done.append),
        ):
            pass
    assert str(caught.value) == (
        f"{tmp_path}: still in use after waiting 0.3 s, by pid {holder.pid} on host {HOST} "
        f"(venvstacks publish) since {since}; wait for it to finish, or pass a longer --lock-timeout"
    )
    assert done == [tmp_path]


def test_a_killed_holder_never_blocks_and_its_description_is_replaced(tmp_path: Path) -> None:
    with lock_holder(tmp_path, "build") as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert load_holder(tmp_path).pid == holder.pid  # left behind by the killed run
        with hold_folder_lock(tmp_path, command="build"):
            assert load_holder(tmp_path).pid == os.getpid()


def test_nested_holds_in_one_thread_share_the_lock(tmp_path: Path) -> None:
    with (
        hold_folder_lock(tmp_path, command="build"),
        hold_folder_lock(tmp_path / ".", command="publish"),
    ):
        assert load_holder(tmp_path).pid == os.getpid()
    with hold_folder_lock(tmp_path, command="build"):  # and all were released
        pass


def test_another_thread_of_the_same_process_is_refused(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with hold_folder_lock(tmp_path, command="deploy"):
                pass
        except FolderLockedError as exc:
            errors.append(exc)

    with hold_folder_lock(tmp_path, command="deploy"):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"{tmp_path}: in use by pid {os.getpid()} on host {HOST} (")


def test_several_folders_once_each(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    with hold_folder_locks([b, a, b / "."], command="publish"):
        assert load_holder(a).pid == load_holder(b).pid == os.getpid()
    with lock_holder(b), pytest.raises(FolderLockedError), hold_folder_locks([a, b], command="x"):
        pass
    assert not (a / HOLDER_NAME).exists()  # the lock taken before the failure was released


def test_a_file_in_the_way_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    with (
        pytest.raises(NotADirectoryError),
        hold_folder_lock(tmp_path / "file" / "sub", command="x"),
    ):
        pass


def test_unknown_holder_is_said_so(tmp_path: Path) -> None:
    (tmp_path / HOLDER_NAME).write_text("{not json", encoding="utf-8")
    assert render_locked_message(load_holder(tmp_path), 0) == (
        f"{tmp_path}: in use by another process (it left no details); wait for it to finish, "
        "or pass --lock-timeout SECONDS to wait for it"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/usr/bin/venvstacks", "build", "--clean"], "venvstacks build --clean"),
        (["/x/venvstacks/__main__.py", "deploy", "a b"], "venvstacks deploy 'a b'"),
        (["/srv/app.py", "--serve"], "app.py --serve"),
        (["venvstacks", "x" * 200], "venvstacks " + "x" * 146 + "..."),
        ([], ""),
    ],
)
def test_render_command_line(argv: list[str], expected: str) -> None:
    assert render_command_line(argv) == expected


def test_render_timestamp() -> None:
    assert render_timestamp(0) == "1970-01-01 00:00:00 UTC"
