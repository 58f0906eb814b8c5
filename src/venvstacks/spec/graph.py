"""The layer graph: validated layers with their resolved dependencies and platforms.

`compute_layer_graph` takes the per-layer models of a spec file (in file order)
and checks everything that relates layers to each other: distinct names,
references to runtimes and frameworks defined above, one runtime per layer, a
consistent C3 order of framework dependencies, target platforms listed once and
supported by the lower layers, and consistent package-index choices.  Every problem is collected;
a layer that can't be resolved is left out so that its dependants don't report
follow-on problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from venvstacks.spec.c3 import LinearisationError, linearise
from venvstacks.spec.indexes import UvSettings, check_index_name, merge_package_indexes
from venvstacks.spec.models import (
    ApplicationSpecModel,
    LayeredSpecModel,
    LayerSpecModel,
    RuntimeSpecModel,
)
from venvstacks.spec.naming import (
    BuildName,
    LayerKind,
    LayerName,
    compute_build_name,
)
from venvstacks.spec.platforms import (
    ALL_PLATFORMS,
    TargetPlatform,
    render_platform_list,
    sort_platforms,
)
from venvstacks.spec.problems import suggest


@dataclass(frozen=True)
class Layer:
    """One validated layer of the stack.

    ``frameworks`` is the C3-linearised list of framework base names (highest
    ``sys.path`` priority first); ``runtime`` is the base name of the runtime the
    layer runs on (``None`` for runtimes themselves).  ``linux_target`` and
    ``macosx_target`` are ``None`` when the spec leaves them at their defaults.
    """

    kind: LayerKind
    name: LayerName
    toml_path: str
    requirements: tuple[Requirement, ...]
    platforms: tuple[TargetPlatform, ...]
    python_implementation: str
    versioned: bool = False
    linux_target: str | None = None
    macosx_target: str | None = None
    dynlib_exclude: tuple[str, ...] = ()
    package_indexes: Mapping[str, str] = field(default_factory=dict)
    priority_indexes: tuple[str, ...] = ()
    runtime: LayerName | None = None
    frameworks: tuple[LayerName, ...] = ()
    launch_module: PurePosixPath | None = None
    support_modules: tuple[PurePosixPath, ...] = ()
    exclude_packages: tuple[str, ...] = ()  # canonical names, sorted

    @property
    def build_name(self) -> BuildName:
        """The kind-prefixed name used for build folders, lock folders and ``--include``."""
        return compute_build_name(self.kind, self.name)

    @property
    def enabled(self) -> bool:
        """Whether the layer targets any platform (``platforms = []`` disables a layer)."""
        return bool(self.platforms)


@dataclass(frozen=True)
class LayerGraph:
    """All layers of a stack in definition order: runtimes, frameworks, applications."""

    layers: tuple[Layer, ...]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def find(self, kind: LayerKind, name: LayerName) -> Layer:
        """Return the layer of *kind* with base name *name*."""
        for layer in self.layers:
            if layer.kind is kind and layer.name == name:
                return layer
        raise KeyError((kind, name))

    def dependencies(self, layer: Layer) -> tuple[Layer, ...]:
        """Return the layers *layer* runs on, in ``sys.path`` order (frameworks, then runtime)."""
        if layer.runtime is None:
            return ()
        frameworks = tuple(self.find(LayerKind.FRAMEWORK, name) for name in layer.frameworks)
        return (*frameworks, self.find(LayerKind.RUNTIME, layer.runtime))

    def derived(self, layer: Layer) -> tuple[Layer, ...]:
        """Return the layers that run on *layer* (directly or through other layers)."""
        # Linearised framework lists are transitive, so a name check is enough.
        if layer.kind is LayerKind.RUNTIME:
            return tuple(upper for upper in self.layers if upper.runtime == layer.name)
        if layer.kind is LayerKind.FRAMEWORK:
            return tuple(upper for upper in self.layers if layer.name in upper.frameworks)
        return ()


@dataclass(frozen=True)
class LayerEntry:
    """One layer table of the spec file, as the loader found it.

    ``model`` is ``None`` when the table failed validation; its ``name`` (if it
    had a string name) still counts as defined, so that layers referring to it
    don't report follow-on problems.
    """

    kind: LayerKind
    position: int
    model: LayerSpecModel | None
    name: str | None

    @property
    def toml_path(self) -> str:
        """The TOML path of the table (``frameworks[2]``)."""
        return f"{self.kind.value}[{self.position}]"


@dataclass
class _Context:
    """Mutable state of one graph computation (never escapes `compute_layer_graph`)."""

    uv: UvSettings
    declared: Mapping[tuple[LayerKind, str], int]
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    resolved: dict[tuple[LayerKind, str], Layer] = field(default_factory=dict)
    merged_indexes: dict[tuple[LayerKind, str], dict[str, str]] = field(default_factory=dict)

    def report(self, layer: str, where: str, message: str) -> None:
        self.problems.append((layer, where, message))


def compute_layer_graph(
    entries: list[LayerEntry], uv: UvSettings
) -> tuple[LayerGraph, list[tuple[str, str, str]]]:
    """Resolve layer references and check cross-layer rules.

    Returns the graph of the layers that resolved and a list of
    ``(layer, where, message)`` problems.
    """
    declared: dict[tuple[LayerKind, str], int] = {}
    for entry in entries:
        if entry.name is not None:
            declared.setdefault((entry.kind, entry.name), entry.position)
    context = _Context(uv, declared)
    for entry in entries:
        model = entry.model
        if model is None:
            continue
        key = (entry.kind, model.name)
        first = declared[key]
        if first != entry.position:
            context.report(
                compute_build_name(entry.kind, LayerName(model.name)),
                f"{entry.toml_path}.name",
                f"{entry.kind.noun} name {model.name!r} is already defined at "
                f"{entry.kind.value}[{first}]; names must be distinct within [[{entry.kind.value}]]",
            )
            continue
        layer = _resolve(context, entry, model)
        if layer is not None:
            context.resolved[key] = layer
    return LayerGraph(tuple(context.resolved.values())), context.problems


@dataclass(frozen=True)
class _Inherited:
    """What a layer takes from the layers it runs on."""

    runtime: Layer | None
    frameworks: tuple[Layer, ...]
    python_implementation: str
    platforms: tuple[TargetPlatform, ...]
    package_indexes: list[tuple[str, Mapping[str, str]]]


def _resolve(context: _Context, entry: LayerEntry, model: LayerSpecModel) -> Layer | None:
    kind, path = entry.kind, entry.toml_path
    label = compute_build_name(kind, LayerName(model.name))
    # Checks that need no other layer come first, so they are reported even when
    # the layer's dependencies can't be resolved.
    own_indexes = _check_indexes(context, path, label, model)
    _check_duplicate_platforms(context, path, label, model)
    launch, support = _check_modules(context, path, label, model)
    inherited = _inherit(context, entry, label, model)
    if inherited is None:
        return None
    platforms = _check_platforms(context, path, label, model, inherited.platforms)
    if platforms is None or own_indexes is None:
        return None
    merged, index_problems = merge_package_indexes(
        inherited.package_indexes, own_indexes, model.index_overrides
    )
    for key, message in index_problems:
        context.report(label, f"{path}.{key}", message)
    context.merged_indexes[kind, model.name] = merged
    return Layer(
        kind=kind,
        name=LayerName(model.name),
        toml_path=path,
        requirements=tuple(Requirement(text) for text in model.requirements),
        platforms=platforms,
        python_implementation=inherited.python_implementation,
        versioned=model.versioned,
        linux_target=model.linux_target,
        macosx_target=model.macosx_target,
        dynlib_exclude=model.dynlib_exclude,
        package_indexes=merged,  # inherited choices included: what locking uses
        priority_indexes=model.priority_indexes,
        runtime=None if inherited.runtime is None else inherited.runtime.name,
        frameworks=tuple(layer.name for layer in inherited.frameworks),
        launch_module=launch,
        support_modules=support,
        exclude_packages=tuple(
            sorted({canonicalize_name(n) for n in getattr(model, "exclude_packages", ())})
        ),
    )


def _inherit(
    context: _Context, entry: LayerEntry, label: str, model: LayerSpecModel
) -> _Inherited | None:
    """Resolve the layers *model* runs on; ``None`` after reporting why they can't be."""
    if isinstance(model, RuntimeSpecModel):
        return _Inherited(None, (), model.python_implementation, ALL_PLATFORMS, [])
    if not isinstance(model, LayeredSpecModel):
        raise TypeError(f"unexpected layer model {type(model).__name__}")
    path = entry.toml_path
    if model.runtime is not None and model.frameworks is not None:
        context.report(
            label,
            path,
            "specify either 'runtime' or 'frameworks', not both "
            "(the runtime of a layer with frameworks is the runtime of those frameworks)",
        )
        return None
    if model.runtime is not None:
        runtime = _find(
            context, entry, LayerKind.RUNTIME, model.runtime, where=f"{path}.runtime", label=label
        )
        frameworks: tuple[Layer, ...] | None = ()
    elif model.frameworks:
        frameworks = _resolve_frameworks(context, entry, label, model.frameworks)
        runtime = None if not frameworks else _runtime_of(context, frameworks[0])
    else:
        context.report(
            label,
            path,
            "missing dependencies: set 'runtime' to a runtime name or 'frameworks' to a "
            "non-empty list of framework names",
        )
        return None
    if runtime is None or frameworks is None:
        return None
    dependencies = (*frameworks, runtime)
    return _Inherited(
        runtime=runtime,
        frameworks=frameworks,
        python_implementation=runtime.python_implementation,
        platforms=sort_platforms(
            frozenset.intersection(*(frozenset(dep.platforms) for dep in dependencies))
        ),
        # With frameworks, each linearised framework's merged map is inherited in
        # sys.path order (it already holds what that framework inherited); with
        # only a runtime, the runtime's map is.
        package_indexes=[
            (dep.build_name, context.merged_indexes[dep.kind, dep.name])
            for dep in frameworks or (runtime,)
        ],
    )


def _runtime_of(context: _Context, layer: Layer) -> Layer:
    """Return the runtime layer *layer* runs on (a runtime runs on itself)."""
    if layer.runtime is None:
        return layer
    return context.resolved[LayerKind.RUNTIME, layer.runtime]


def _resolve_frameworks(
    context: _Context, entry: LayerEntry, label: str, names: tuple[str, ...]
) -> tuple[Layer, ...] | None:
    """Return the C3-linearised frameworks for *names*, or ``None`` after reporting why not."""
    path = entry.toml_path
    declared: list[Layer] = []
    complete = True
    for position, name in enumerate(names):
        where = f"{path}.frameworks[{position}]"
        if name in names[:position]:
            context.report(label, where, f"framework {name!r} is listed twice; list it once")
            complete = False
        elif entry.kind is LayerKind.FRAMEWORK and name == entry.name:
            context.report(label, where, "a framework can't depend on itself")
            complete = False
        else:
            framework = _find(context, entry, LayerKind.FRAMEWORK, name, where=where, label=label)
            if framework is None:
                complete = False
            else:
                declared.append(framework)
    if not complete:
        return None
    if len({framework.runtime for framework in declared}) > 1:
        uses = ", ".join(f"{f.name!r} uses runtime {f.runtime!r}" for f in declared)
        context.report(
            label,
            f"{path}.frameworks",
            f"frameworks run on different runtimes ({uses}); all frameworks of a layer must share one runtime",
        )
        return None
    try:
        order = linearise(
            [framework.name for framework in declared],
            lambda name: context.resolved[LayerKind.FRAMEWORK, name].frameworks,
        )
    except LinearisationError as exc:
        conflicting = " and ".join(repr(name) for name in exc.conflicting)
        remaining = "; ".join(" -> ".join(str(n) for n in seq) for seq in exc.remaining)
        context.report(
            label,
            f"{path}.frameworks",
            f"can't order framework dependencies: {conflicting} must each come before the other "
            f"(unmergeable orders: {remaining}); reorder 'frameworks' to match the order used by "
            "the frameworks it depends on",
        )
        return None
    return tuple(context.resolved[LayerKind.FRAMEWORK, name] for name in order)


def _find(
    context: _Context, referrer: LayerEntry, kind: LayerKind, name: str, *, where: str, label: str
) -> Layer | None:
    """Look up a referenced layer; report an unknown name unless it is defined (but invalid)."""
    found = context.resolved.get((kind, name))
    if found is not None:
        return found
    position = context.declared.get((kind, name))
    if position is None:
        candidates = [
            n
            for (k, n) in context.declared
            if k is kind and (k, n) != (referrer.kind, referrer.name)
        ]
        other_kinds = [k for k in LayerKind if k is not kind and (k, name) in context.declared]
        hint = (
            suggest(name, candidates)
            or (
                f" ({name!r} is {'an' if other_kinds[0] is LayerKind.APPLICATION else 'a'} "
                f"{other_kinds[0].noun}, not a {kind.noun})"
                if other_kinds
                else ""
            )
            or (
                f"; defined {kind.value} are {', '.join(map(repr, candidates))}"
                if candidates
                else f"; no {kind.value} are defined"
            )
        )
        context.report(label, where, f"unknown {kind.noun} {name!r}{hint}")
    elif kind is referrer.kind and position > referrer.position:
        context.report(
            label,
            where,
            f"{kind.noun} {name!r} is defined below this layer (at {kind.value}[{position}]); "
            "move its entry above the layers that use it",
        )
    # Otherwise the referenced layer exists but has problems of its own, already reported.
    return None


def _check_platforms(
    context: _Context,
    path: str,
    label: str,
    model: LayerSpecModel,
    inherited: tuple[TargetPlatform, ...],
) -> tuple[TargetPlatform, ...] | None:
    if model.platforms is None:
        return inherited
    requested = [TargetPlatform(name) for name in model.platforms]
    unsupported = [p for p in sort_platforms(frozenset(requested)) if p not in inherited]
    if unsupported:
        context.report(
            label,
            f"{path}.platforms",
            f"target platforms [{render_platform_list(unsupported)}] are not supported by the "
            f"layers this layer runs on (they support [{render_platform_list(inherited)}]); "
            "remove them or add them to the lower layers",
        )
        return None
    return sort_platforms(frozenset(requested))


def _check_duplicate_platforms(
    context: _Context, path: str, label: str, model: LayerSpecModel
) -> None:
    """Report each platform listed more than once (the layer still targets it once)."""
    names = model.platforms or ()
    for position, name in enumerate(names):
        if name in names[:position]:
            context.report(
                label,
                f"{path}.platforms[{position}]",
                f"target platform {name!r} is already listed at platforms[{names.index(name)}]; "
                "list each platform once",
            )


def _check_indexes(
    context: _Context, path: str, label: str, model: LayerSpecModel
) -> dict[str, str] | None:
    """Check index names used by a layer; return its normalised ``package_indexes``."""
    ok = True
    own: dict[str, str] = {}
    for package, index in model.package_indexes.items():
        normalised = canonicalize_name(package)
        where = f"{path}.package_indexes.{package}"
        if normalised in own:
            context.report(
                label,
                where,
                f"multiple sources for {normalised!r} after name normalization; keep one",
            )
            ok = False
        problem = check_index_name(index, context.uv)
        if problem:
            context.report(label, where, f"{problem} (for package {package!r})")
            ok = False
        own[normalised] = index
    for position, index in enumerate(model.priority_indexes):
        problem = check_index_name(index, context.uv)
        if problem:
            context.report(label, f"{path}.priority_indexes[{position}]", problem)
            ok = False
    for source, target in model.index_overrides.items():
        for name in (source, target):
            problem = check_index_name(name, context.uv)
            if problem:
                context.report(label, f"{path}.index_overrides.{source}", problem)
                ok = False
    return own if ok else None


def _check_modules(
    context: _Context, path: str, label: str, model: LayerSpecModel
) -> tuple[PurePosixPath | None, tuple[PurePosixPath, ...]]:
    """Check launch/support module names (existence is checked by the loader)."""
    if not isinstance(model, ApplicationSpecModel):
        return None, ()
    launch = PurePosixPath(model.launch_module)
    support = tuple(sorted(PurePosixPath(text) for text in model.support_modules))
    stems: dict[str, PurePosixPath] = {}
    for module in support:
        if module.stem in stems:
            context.report(
                label,
                f"{path}.support_modules",
                f"support modules {str(stems[module.stem])!r} and {str(module)!r} have the same "
                f"import name {module.stem!r}; rename one of them",
            )
        stems[module.stem] = module
    if launch.stem in stems:
        context.report(
            label,
            f"{path}.launch_module",
            f"launch module {str(launch)!r} has the same import name {launch.stem!r} as support "
            f"module {str(stems[launch.stem])!r}; rename one of them",
        )
    return launch, support
