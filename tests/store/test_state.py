"""The store's record: loading, and how each command changes it (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from venvstacks.errors import StoreError
from venvstacks.store.state import (
    ReleaseLayer,
    StoreState,
    compute_added,
    compute_gc_plan,
    compute_pinned,
    compute_rolled_back,
    compute_switched,
    find_same_release,
    load_state,
    write_state,
)


def layers(*keys: str) -> tuple[ReleaseLayer, ...]:
    return tuple(
        ReleaseLayer(
            layer_name=f"app-{k}",
            install_target=f"app-{k}",
            kind="applications",
            key=f"sha256:{k}",
            folder=f"{k}-app-{k}",
            archive_sha256="sha256:" + "0" * 64,
            launch_module="m",
        )
        for k in keys
    )


def store_with(*releases: tuple[str, ...]) -> StoreState:
    state = StoreState()
    for keys in releases:
        state, release_id = compute_added(state, layers(*keys), "/m.json", "2026-01-01T00:00:00Z")
        state = compute_switched(state, release_id)
    return state


def test_ids_increase_and_switching_records_the_rollback_target() -> None:
    state = store_with(("a",), ("b",), ("c",))
    assert [r.id for r in state.releases] == [1, 2, 3]
    assert (state.current, state.previous, state.next_release) == (3, 2, 4)
    back = compute_rolled_back(state)
    assert (back.current, back.previous) == (2, 3)
    assert compute_rolled_back(back) == state
    assert compute_switched(state, 3) is state


def test_gc_keeps_current_rollback_target_pinned_and_newest() -> None:
    state = store_with(("a",), ("b",), ("c",), ("d",), ("e",))
    state = compute_pinned(compute_switched(state, 2), 1, pinned=True)  # current 2, previous 5
    plan = compute_gc_plan(state, keep=1)
    assert (plan.kept, plan.removed) == ((1, 2, 5), (3, 4))
    assert plan.state.folders() == {"a-app-a", "b-app-b", "e-app-e"}
    assert plan.state.next_release == 6  # ids are never reused
    assert compute_gc_plan(state, keep=3).removed == ()


def test_same_release_is_found_by_keys() -> None:
    state = store_with(("a", "b"))
    assert find_same_release(state, layers("b", "a")) == state.releases[0]
    assert find_same_release(state, layers("a")) is None


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda s: compute_switched(s, 7),
            "the store has no release 7 (releases: 1); see 'venvstacks store list'",
        ),
        (
            lambda s: compute_pinned(s, 0, pinned=True),
            "the store has no release 0 (releases: 1); see 'venvstacks store list'",
        ),
        (
            compute_rolled_back,
            "no release to roll back to: the store has had only one current release",
        ),
    ],
)
def test_errors(action: object, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        action(store_with(("a",)))  # type: ignore[operator]
    assert str(caught.value) == message


def test_a_collected_rollback_target_is_explained() -> None:
    state = store_with(("a",), ("b",)).model_copy(update={"previous": 9})
    with pytest.raises(StoreError) as caught:
        compute_rolled_back(state)
    assert str(caught.value) == (
        "release 9, the one to roll back to, was removed by 'store gc'; "
        "switch to another release with 'venvstacks store switch ID'"
    )


def test_record_round_trip_and_damage(tmp_path: Path) -> None:
    assert load_state(tmp_path) == StoreState()
    state = store_with(("a",), ("b",))
    write_state(tmp_path, state)
    assert load_state(tmp_path) == state
    (tmp_path / "store.json").write_text('{"releases": [], "colour": "red"}')
    with pytest.raises(StoreError) as caught:
        load_state(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'store.json'}: colour: Extra inputs are not permitted; the store's record "
        "is damaged: restore it, or move the store aside and add the releases again"
    )
