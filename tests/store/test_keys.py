"""Layer keys: shared only when the archive and every layer below are the same."""

from __future__ import annotations

from venvstacks.deploy.manifest import ManifestLayer
from venvstacks.spec.naming import DeployedName, LayerKind
from venvstacks.store.keys import compute_folder_name, compute_keyed_layers


def layer(
    kind: LayerKind, name: str, sha: str, required: tuple[str, ...] = (), runtime: str = "rt"
) -> ManifestLayer:
    return ManifestLayer(
        kind=kind,
        layer_name=name.split("@", maxsplit=1)[0],
        install_target=DeployedName(name),
        runtime_layer=DeployedName(runtime if kind is not LayerKind.RUNTIME else name),
        required_layers=tuple(DeployedName(r) for r in required),
        launch_module="m" if kind is LayerKind.APPLICATION else None,
        archive_name=f"{name}.tar.gz",
        archive_size=1,
        archive_sha256=sha * 64,
    )


def stack(rt: str = "a", fw: str = "b", app: str = "c") -> list[ManifestLayer]:
    return [
        layer(LayerKind.RUNTIME, "rt", rt),
        layer(LayerKind.FRAMEWORK, "framework-f@1", fw),
        layer(LayerKind.FRAMEWORK, "framework-g", fw, ("framework-f@1",)),
        layer(LayerKind.APPLICATION, "app-x", app, ("framework-g",)),
    ]


def folders(layers: list[ManifestLayer]) -> list[str]:
    return [k.folder for k in compute_keyed_layers(layers)]


def test_an_app_change_keeps_the_layers_below() -> None:
    before, after = folders(stack()), folders(stack(app="d"))
    assert before[:3] == after[:3]
    assert before[3] != after[3]


def test_a_runtime_change_moves_everything_above_it() -> None:
    before, after = folders(stack()), folders(stack(rt="e"))
    assert all(b != a for b, a in zip(before, after, strict=True))


def test_a_framework_change_moves_the_layers_on_it_only() -> None:
    before, after = folders(stack()), folders(stack(fw="e"))
    assert before[0] == after[0]
    assert all(b != a for b, a in zip(before[1:], after[1:], strict=True))


def test_lower_layers_are_the_transitive_closure_in_path_order() -> None:
    keyed = compute_keyed_layers(stack())
    assert [name for name, _ in keyed[3].lower] == ["rt", "framework-g", "framework-f@1"]
    assert dict(keyed[3].lower)[DeployedName("rt")] == keyed[0].folder
    assert keyed[0].lower == ()


def test_keys_do_not_depend_on_the_order_layers_are_listed() -> None:
    layers = stack()
    reordered = [layers[3], layers[2], layers[0], layers[1]]
    assert sorted(folders(layers)) == sorted(folders(reordered))


def test_folder_names() -> None:
    assert compute_folder_name("app-x@1", "sha256:" + "0123456789abcdef" * 4) == (
        "0123456789abcdef-app-x@1"
    )
