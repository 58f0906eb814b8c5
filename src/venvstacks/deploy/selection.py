"""Which published layers a deployment unpacks (pure).

``--include`` patterns are matched with `fnmatch` against each layer's build name
(``app-chat``) and its deployed name (``app-chat@3``).  Every chosen layer brings
the layers it runs on: its runtime and its ``required_layers``.  Without patterns
every layer in the manifest is deployed.  The result is in post-install order:
runtimes, then frameworks, then applications, each in manifest order.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch

from venvstacks.deploy.manifest import Manifest, ManifestLayer
from venvstacks.errors import DeployError
from venvstacks.spec.naming import LayerKind


def matches(layer: ManifestLayer, pattern: str) -> bool:
    """Whether *pattern* matches the layer's build name or deployed name."""
    return fnmatch(layer.layer_name, pattern) or fnmatch(layer.install_target, pattern)


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _dependency(
    manifest: Manifest, layer: ManifestLayer, name: str, kind: LayerKind
) -> ManifestLayer:
    found = manifest.find(name)
    if found is None:
        raise DeployError(
            f"{layer.install_target}: runs on {name}, which {manifest.path.name} does not list; "
            "publish the layers it runs on as well"
        )
    if found.kind is not kind:
        raise DeployError(
            f"{layer.install_target}: runs on {name}, which {manifest.path.name} lists as "
            f"{_article(found.kind.noun)} {found.kind.noun}, not a {kind.noun}; "
            "publish the stack again"
        )
    return found


def select_layers(manifest: Manifest, patterns: Sequence[str] = ()) -> tuple[ManifestLayer, ...]:
    """Return the layers to deploy for *patterns* (all layers when there are none)."""
    if not patterns:
        chosen = list(manifest.layers)
    else:
        unmatched = [p for p in patterns if not any(matches(la, p) for la in manifest.layers)]
        if unmatched:
            names = ", ".join(layer.layer_name for layer in manifest.layers)
            raise DeployError(
                f"no layers in {manifest.path} match {', '.join(repr(p) for p in unmatched)} "
                f"(layers are: {names})"
            )
        chosen = [la for la in manifest.layers if any(matches(la, p) for p in patterns)]
    needed: dict[str, ManifestLayer] = {}
    pending = list(chosen)
    while pending:
        layer = pending.pop()
        if layer.install_target in needed:
            continue
        needed[layer.install_target] = layer
        if layer.kind is not LayerKind.RUNTIME:
            pending.append(_dependency(manifest, layer, layer.runtime_layer, LayerKind.RUNTIME))
            pending.extend(
                _dependency(manifest, layer, name, LayerKind.FRAMEWORK)
                for name in layer.required_layers
            )
    return tuple(layer for layer in manifest.layers if layer.install_target in needed)
