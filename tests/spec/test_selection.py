from __future__ import annotations

import pytest

from venvstacks.errors import SelectionError
from venvstacks.spec.load import StackSpec
from venvstacks.spec.selection import select_layers

from ..conftest import Load
from .test_graph import DIAMOND, LAUNCH, RUNTIMES, application, framework


@pytest.fixture
def diamond(load: Load) -> StackSpec:
    return load(DIAMOND, LAUNCH)


def names(selection_part: frozenset[str]) -> list[str]:
    return sorted(selection_part)


def test_no_patterns_selects_everything(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph)
    assert [layer.build_name for layer in selection.layers] == [
        layer.build_name for layer in diamond.graph
    ]
    assert selection.dependencies == selection.derived == frozenset()


def test_include_brings_dependencies_and_derived_layers(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph, ["framework-B"])
    assert names(selection.included) == ["framework-B"]
    assert names(selection.dependencies) == ["framework-A", "rt"]
    assert names(selection.derived) == ["app-app", "framework-D", "framework-E", "framework-F@1"]
    # Definition order, not selection order; rt2 and C are untouched.
    assert [layer.build_name for layer in selection.layers] == [
        "rt",
        "framework-A",
        "framework-B",
        "framework-D",
        "framework-E",
        "framework-F@1",
        "app-app",
    ]


def test_include_without_derived(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph, ["framework-B"], include_derived=False)
    assert names(selection.derived) == []


def test_patterns_are_fnmatch_on_build_names(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph, ["app-*", "rt?"])
    assert names(selection.included) == ["app-app", "rt2"]
    assert "framework-C" in selection.dependencies
    # Base names don't match: 'B' is 'framework-B'.
    with pytest.raises(SelectionError):
        select_layers(diamond.graph, ["B"])


def test_layer_both_dependency_and_derived(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph, ["framework-A", "app-app"])
    assert "framework-B" in selection.dependencies
    assert "framework-B" in selection.derived


def test_unmatched_pattern_is_an_error(diamond: StackSpec) -> None:
    with pytest.raises(SelectionError) as caught:
        select_layers(diamond.graph, ["app-*", "framework-Z*"])
    assert str(caught.value) == (
        "no layers match 'framework-Z*' (layers are: rt, rt2, framework-A, framework-B, framework-C, "
        "framework-D, framework-E, framework-F@1, app-app); pass --allow-missing to skip patterns "
        "that match nothing"
    )


def test_allow_missing_reports_unmatched(diamond: StackSpec) -> None:
    selection = select_layers(diamond.graph, ["app-*", "nothing"], allow_missing=True)
    assert selection.unmatched == ("nothing",)
    assert names(selection.included) == ["app-app"]


def test_disabled_layers_are_never_selected(load: Load) -> None:
    spec = load(
        RUNTIMES
        + framework("on", runtime="rt")
        + framework("off", runtime="rt", extra="platforms = []")
        + application("app", "on")
        + application("app-off", "on", extra="platforms = []"),
        LAUNCH,
    )
    everything = select_layers(spec.graph)
    assert "framework-off" not in everything.included
    assert "app-app-off" not in everything.included
    selection = select_layers(spec.graph, ["framework-o*"])
    assert names(selection.included) == ["framework-on"]
    assert names(selection.derived) == ["app-app"]


def test_pattern_matching_only_disabled_layers(load: Load) -> None:
    spec = load(
        RUNTIMES
        + framework("off", runtime="rt", extra="platforms = []")
        + application("mlx", "off"),
        LAUNCH,
    )
    with pytest.raises(SelectionError) as caught:
        select_layers(spec.graph, ["app-mlx*"])
    assert str(caught.value) == (
        "no layers match 'app-mlx*' (layers are: rt, rt2); app-mlx target no platforms "
        "(platforms = []) and are never selected; pass --allow-missing to skip patterns that "
        "match nothing"
    )
