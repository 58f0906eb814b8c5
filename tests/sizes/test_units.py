"""Pure parts of ``venvstacks sizes``: ownership, reasons, cross-layer findings, treemap, JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from venvstacks.cli.sizes_cmd import render_bar
from venvstacks.sizes.compute import (
    compute_reasons,
    estimate_exclusion,
    find_identical_files,
    find_shadowed,
)
from venvstacks.sizes.measure import (
    LAUNCH_MODULES,
    LAYER_FILES,
    RUNTIME,
    UNATTRIBUTED,
    Distribution,
    LayerFile,
    MeasuredLayer,
    compute_owner,
)
from venvstacks.sizes.model import (
    ArchiveSize,
    Comparison,
    ExclusionEstimate,
    IdenticalFile,
    LayerSizes,
    LayerUpdate,
    PackageSizes,
    ShadowedPackage,
    StackSizes,
    render_bytes,
)
from venvstacks.sizes.publication import compare_publications
from venvstacks.sizes.render_json import render_sizes_json
from venvstacks.sizes.treemap import compute_treemap

SITE = "lib/python3.11/site-packages"
OWNERS = {f"{SITE}/six.py": "six", f"{SITE}/idna/core.py": "idna"}


@pytest.mark.parametrize(
    ("path", "is_runtime", "owner"),
    [
        (f"{SITE}/six.py", False, "six"),
        (f"{SITE}/__pycache__/six.cpython-311.pyc", False, "six"),
        (f"{SITE}/idna/__pycache__/core.cpython-311.opt-1.pyc", False, "idna"),
        (f"{SITE}/app.py", False, LAUNCH_MODULES),
        (f"{SITE}/__pycache__/app.cpython-311.pyc", False, LAUNCH_MODULES),
        (f"{SITE}/stray.txt", False, UNATTRIBUTED),
        ("share/venv/metadata/venvstacks_layer.json", True, LAYER_FILES),
        ("postinstall.py", True, LAYER_FILES),
        ("bin/python", False, LAYER_FILES),
        ("lib/python3.11/os.py", True, RUNTIME),
        ("bin/python3.11", True, RUNTIME),
    ],
)
def test_compute_owner(path: str, is_runtime: bool, owner: str) -> None:
    assert (
        compute_owner(path, OWNERS, site_dir=SITE, is_runtime=is_runtime, app_modules={"app"})
        == owner
    )


def test_reasons_name_requirements_and_dependents() -> None:
    requirements = [("framework-a", "Six>=1"), ("app-b", "six"), ("app-b", "idna")]
    dependents = {"six": [("framework-a", "attrs"), ("app-b", "tool")]}
    assert compute_reasons("six", "framework-a", requirements, dependents) == (
        "requirement 'Six>=1'",
        "requirement 'six' (app-b)",
        "required by attrs",
        "required by tool (app-b)",
    )
    assert compute_reasons("idna", "app-b", [], {}) == ("not required by anything installed",)


def _layer(name: str, rows: list[tuple[str, str, int]]) -> LayerSizes:
    packages = tuple(PackageSizes(n, v, b, 1, (), ()) for n, v, b in rows)
    total = sum(b for _, _, b in rows)
    return LayerSizes(name, name, "framework", total, len(rows), 0, (), packages)


def test_shadowed_only_within_one_application_chain() -> None:
    layers = {
        "app-x": _layer("app-x", [("six", "1.17.0", 10), (LAYER_FILES, "", 5)]),
        "framework-a": _layer("framework-a", [("six", "1.16.0", 20), (LAYER_FILES, "", 5)]),
        "framework-b": _layer("framework-b", [("six", "1.16.0", 30)]),
    }
    (found,) = find_shadowed("app-x", ["app-x", "framework-a", "cpython-3.11"], layers)
    assert (found.package, found.used_in, found.shadowed_in, found.shadowed_bytes) == (
        "six", ("app-x", "1.17.0"), (("framework-a", "1.16.0"),), 20,
    )  # fmt: skip


def _measured(files: list[tuple[str, int, str]]) -> MeasuredLayer:
    return MeasuredLayer(
        Path("x"), False, SITE, tuple(LayerFile(p, s, h, "x") for p, s, h in files), {}
    )


def test_identical_files_across_layers_only() -> None:
    a = _measured([("one.py", 100, "h1"), ("two.py", 100, "h1"), ("empty", 0, "h0")])
    b = _measured([("other.py", 100, "h1"), ("three.py", 7, "h3")])
    (found,) = find_identical_files([("a", a), ("b", b)])
    assert found.locations == (("a", "one.py"), ("a", "two.py"), ("b", "other.py"))
    assert found.duplicate_bytes == 100  # one copy per layer beyond the first


def test_exclusion_estimate() -> None:
    layers = (_layer("a", [("six", "1", 20)]), _layer("b", [("six", "1", 30), ("idna", "3", 5)]))
    estimate = estimate_exclusion("Six", layers, {"six": [("b", "tool")]})
    assert (estimate.package, estimate.layers, estimate.needed_by, estimate.saved_bytes) == (
        "six", (("a", 20, 1), ("b", 30, 1)), ("tool (b)",), 50,
    )  # fmt: skip


def test_compare_publications() -> None:
    def meta(target: str, digest: str, size: int) -> dict[str, object]:
        return {
            "install_target": target,
            "archive_hashes": {"sha256": digest},
            "archive_size": size,
        }

    current = {"rt": [meta("rt", "r", 100)], "app": [meta("app@2", "a2", 30)], "new": [meta("new", "n", 7)]}  # fmt: skip
    earlier = {"rt": [meta("rt", "r", 100)], "app": [meta("app@1", "a1", 25)]}
    result = compare_publications(["rt", "app", "new"], current, earlier, Path("old"), Path("cur"))
    assert [(u.build_name, u.previous_install_target, u.download_bytes) for u in result.changed] == [
        ("app", "app@1", 30), ("new", None, 7),
    ]  # fmt: skip
    assert (result.unchanged, result.download_bytes, result.full_download_bytes) == (
        ("rt",), 37, 137,
    )  # fmt: skip


def test_compare_needs_the_current_publication() -> None:
    from venvstacks.errors import SizesError  # noqa: PLC0415

    with pytest.raises(SizesError) as caught:
        compare_publications(["rt"], {}, {}, Path("old"), Path("/cur"))
    assert str(caught.value) == (
        "rt: not published in /cur; run 'venvstacks publish' (or pass --output-dir) before comparing"
    )


@pytest.mark.parametrize("values", [[50, 30, 10, 5, 5], [1], [7, 7, 7, 7], [1000, 1, 0, 1]])
def test_treemap_areas_are_proportional_and_inside(values: list[int]) -> None:
    rects = compute_treemap(values, 300, 200)
    assert sorted(r.index for r in rects) == [i for i, v in enumerate(values) if v]
    for rect in rects:
        assert rect.width * rect.height == pytest.approx(values[rect.index] * 60000 / sum(values))
        assert rect.x >= -1e-6
        assert rect.x + rect.width <= 300 + 1e-6
        assert rect.y >= -1e-6
        assert rect.y + rect.height <= 200 + 1e-6


def test_bars_and_bytes() -> None:
    assert render_bar(1, 1) == "█" * 20
    assert render_bar(1, 8 * 20) == "▏"
    assert render_bar(0, 0) == ""
    assert [render_bytes(n) for n in (0, 1023, 1024, 5 * 1024 * 1024, 3 << 30)] == [
        "0 B", "1023 B", "1.0 KiB", "5.0 MiB", "3.0 GiB",
    ]  # fmt: skip


def test_json_format(golden: object) -> None:
    layer = LayerSizes(
        "framework-a", "framework-a", "framework", 150, 3, 40,
        (ArchiveSize("tar.xz", "framework-a.tar.xz", 60),),
        (
            PackageSizes("six", "1.17.0", 100, 2, (("lib/six.py", 60), ("lib/six.pyc", 40)), ("requirement 'six'",)),
            PackageSizes(LAYER_FILES, "", 50, 1, (("postinstall.py", 50),), ()),
        ),
    )  # fmt: skip
    sizes = StackSizes(
        layers=(layer,),
        shadowed=(
            ShadowedPackage("app-x", "six", ("app-x", "1.17.0"), (("framework-a", "1.17.0"),), 100),
        ),
        identical=(
            IdenticalFile("ab12", 60, (("app-x", "lib/six.py"), ("framework-a", "lib/six.py"))),
        ),
        comparison=Comparison(
            Path("/old"),
            (LayerUpdate("app-x", "app-x@2", "app-x@1", 70),),
            ("framework-a",),
            70,
            130,
        ),
        exclusions=(ExclusionEstimate("six", (("framework-a", 100, 2),), ("tool (app-x)",)),),
    )
    golden("sizes/sizes.json", render_sizes_json(sizes))  # type: ignore[operator]


def test_distribution_is_a_value() -> None:
    dist = Distribution("six", "1.17.0", (), frozenset({"a"}))
    assert dist == Distribution("six", "1.17.0", (), frozenset({"a"}))


def test_unreadable_built_layer_is_named(tmp_path: Path, load: object) -> None:
    from venvstacks.errors import SizesError  # noqa: PLC0415
    from venvstacks.sizes import compute_stack_sizes  # noqa: PLC0415

    spec = load(  # type: ignore[operator]
        '[[runtimes]]\nname = "rt"\npython_implementation = "cpython@3.11"\nrequirements = []\n'
    )
    build_dir = tmp_path / "_build"
    (build_dir / "rt").mkdir(parents=True)
    with pytest.raises(SizesError) as caught:
        compute_stack_sizes(spec, tuple(spec.graph), build_dir=build_dir, output_dir=tmp_path / "o")
    config = build_dir / "rt/share/venv/metadata/venvstacks_layer.json"
    assert str(caught.value) == (
        f"rt: can't read the built layer in {build_dir / 'rt'} ([Errno 2] No such file or "
        f"directory: '{config}'); build it again with 'venvstacks build --include rt --clean'"
    )
