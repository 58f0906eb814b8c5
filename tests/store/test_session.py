"""Recovery: what killed store commands leave is finished or removed by the next one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.store.helpers import release
from venvstacks.store import add_release, list_store
from venvstacks.store.state import load_state

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake runtime is a bash script")


def test_leftovers_are_finished_or_removed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    add_release(store, release(tmp_path, "r1"))
    add_release(store, release(tmp_path, "r2", app="v2"), switch=False)
    state = load_state(store)
    orphan = store / "layers" / "0000000000000000-app-x@9"
    (orphan / "app-x@9").mkdir(parents=True)
    (store / ".trash/x.abc/x").mkdir(parents=True)
    (store / ".staging/y.abc/y").mkdir(parents=True)
    (store / "releases/.tmp-abc").mkdir()
    (store / "releases/7").mkdir()
    (store / ".store.json.abc").write_text("")
    (store / ".gc.json").write_text(
        json.dumps({"folders": [orphan.name, state.releases[1].layers[2].folder]})
    )
    (store / "current").unlink()
    (store / "current").symlink_to("releases/2")  # disagrees with the record

    listing = list_store(store)
    assert listing.recovered == (
        "removed the partial unpack of an interrupted 'store add'",
        "finished an interrupted 'store gc' (1 more layer folders deleted)",
        "deleted the folders an interrupted command was deleting",
    )
    assert not orphan.exists()  # listed by the gc journal and needed by no release
    assert (store / "layers" / state.releases[1].layers[2].folder).is_dir()  # release 2 needs it
    assert sorted(p.name for p in store.iterdir()) == [
        ".venvstacks.lock",
        "current",
        "layers",
        "releases",
        "store.json",
    ]
    assert sorted(p.name for p in (store / "releases").iterdir()) == ["1", "2"]
    assert (store / "current").readlink() == Path("releases/1")  # the record says 1
    assert list_store(store).recovered == ()
