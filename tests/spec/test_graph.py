"""Cross-layer rules: references, C3 order, runtime inference, platforms, indexes, modules."""

from __future__ import annotations

import pytest

from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import LayerKind, LayerName
from venvstacks.spec.platforms import TargetPlatform

from ..conftest import Load, Problems

RUNTIMES = """
[[runtimes]]
name = "rt"
python_implementation = "cpython@3.11.7"
requirements = []

[[runtimes]]
name = "rt2"
python_implementation = "cpython@3.12.1"
requirements = []
platforms = ["linux_x86_64", "win_amd64"]
"""


def framework(name: str, *deps: str, runtime: str | None = None, extra: str = "") -> str:
    link = f'runtime = "{runtime}"' if runtime else f"frameworks = {list(deps)!r}".replace("'", '"')
    return f'\n[[frameworks]]\nname = "{name}"\n{link}\nrequirements = []\n{extra}\n'


def application(name: str, *deps: str, runtime: str | None = None, extra: str = "") -> str:
    link = f'runtime = "{runtime}"' if runtime else f"frameworks = {list(deps)!r}".replace("'", '"')
    return (
        f'\n[[applications]]\nname = "{name}"\n{link}\nrequirements = []\n'
        f'launch_module = "launch.py"\n{extra}\n'
    )


LAUNCH = {"launch.py": "print('hi')\n"}

# The sample stack used by venvstacks 0.8's own tests: D->[B,C], B,C->[A], E->[B], F@1->[E].
DIAMOND = (
    RUNTIMES
    + framework("A", runtime="rt")
    + framework("B", "A")
    + framework("C", "A")
    + framework("D", "B", "C")
    + framework("E", "B")
    + framework("F@1", "E")
    + application("app", "D", "F@1")
)


def frameworks_of(spec: StackSpec, kind: LayerKind, name: str) -> list[str]:
    layer = spec.graph.find(kind, LayerName(name))
    return [dep.build_name for dep in spec.graph.dependencies(layer)]


def test_c3_order_matches_the_sample_project(load: Load) -> None:
    spec = load(DIAMOND, LAUNCH)
    assert frameworks_of(spec, LayerKind.FRAMEWORK, "D") == [
        "framework-B",
        "framework-C",
        "framework-A",
        "rt",
    ]
    assert frameworks_of(spec, LayerKind.FRAMEWORK, "F@1") == [
        "framework-E",
        "framework-B",
        "framework-A",
        "rt",
    ]
    assert frameworks_of(spec, LayerKind.APPLICATION, "app") == [
        "framework-D",
        "framework-F@1",
        "framework-E",
        "framework-B",
        "framework-C",
        "framework-A",
        "rt",
    ]


def test_runtime_is_inferred_through_frameworks(load: Load) -> None:
    spec = load(DIAMOND, LAUNCH)
    app = spec.graph.find(LayerKind.APPLICATION, LayerName("app"))
    assert app.runtime == "rt"
    assert app.python_implementation == "cpython@3.11.7"


def test_derived_layers(load: Load) -> None:
    spec = load(DIAMOND, LAUNCH)
    b = spec.graph.find(LayerKind.FRAMEWORK, LayerName("B"))
    assert [layer.build_name for layer in spec.graph.derived(b)] == [
        "framework-D",
        "framework-E",
        "framework-F@1",
        "app-app",
    ]


def test_c3_conflict_names_the_conflicting_layers(problems: Problems) -> None:
    spec = (
        RUNTIMES
        + framework("A", runtime="rt")
        + framework("B", runtime="rt")
        + framework("AB", "A", "B")
        + framework("BA", "B", "A")
        + framework("bad", "AB", "BA")
    )
    assert problems(spec) == [
        (
            "SPEC: framework-bad: frameworks[4].frameworks: can't order framework dependencies: "
            "'A' and 'B' must each come before the other (unmergeable orders: A -> B; B -> A); "
            "reorder 'frameworks' to match the order used by the frameworks it depends on"
        )
    ]


def test_inconsistent_runtimes(problems: Problems) -> None:
    spec = (
        RUNTIMES
        + framework("one", runtime="rt")
        + framework("two", runtime="rt2")
        + application("app", "one", "two")
    )
    assert problems(spec, LAUNCH) == [
        (
            "SPEC: app-app: applications[0].frameworks: frameworks run on different runtimes "
            "('one' uses runtime 'rt', 'two' uses runtime 'rt2'); all frameworks of a layer must "
            "share one runtime"
        )
    ]


def test_forward_reference(problems: Problems) -> None:
    spec = RUNTIMES + framework("first", "second") + framework("second", runtime="rt")
    assert problems(spec) == [
        (
            "SPEC: framework-first: frameworks[0].frameworks[0]: framework 'second' is defined below "
            "this layer (at frameworks[1]); move its entry above the layers that use it"
        )
    ]


@pytest.mark.parametrize(
    ("frameworks", "expected"),
    [
        (
            '"self"',
            "frameworks[0].frameworks[0]: a framework can't depend on itself",
        ),
        (
            '"rt"',
            "frameworks[0].frameworks[0]: unknown framework 'rt' ('rt' is a runtime, not a framework)",
        ),
    ],
)
def test_bad_framework_references(problems: Problems, frameworks: str, expected: str) -> None:
    spec = (
        RUNTIMES
        + f'[[frameworks]]\nname = "self"\nframeworks = [{frameworks}]\nrequirements = []\n'
    )
    assert problems(spec) == [f"SPEC: framework-self: {expected}"]


def test_unknown_framework_lists_known_ones(problems: Problems) -> None:
    spec = RUNTIMES + framework("torch", runtime="rt") + application("app", "troch")
    assert problems(spec, LAUNCH) == [
        "SPEC: app-app: applications[0].frameworks[0]: unknown framework 'troch' (did you mean 'torch'?)"
    ]


def test_framework_listed_twice(problems: Problems) -> None:
    spec = RUNTIMES + framework("a", runtime="rt") + application("app", "a", "a")
    assert problems(spec, LAUNCH) == [
        "SPEC: app-app: applications[0].frameworks[1]: framework 'a' is listed twice; list it once"
    ]


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            'runtime = "rt"\nframeworks = ["a"]',
            (
                "specify either 'runtime' or 'frameworks', not both (the runtime of a layer with "
                "frameworks is the runtime of those frameworks)"
            ),
        ),
        (
            "",
            (
                "missing dependencies: set 'runtime' to a runtime name or 'frameworks' to a non-empty "
                "list of framework names"
            ),
        ),
        (
            "frameworks = []",
            (
                "missing dependencies: set 'runtime' to a runtime name or 'frameworks' to a non-empty "
                "list of framework names"
            ),
        ),
    ],
)
def test_runtime_xor_frameworks(problems: Problems, link: str, expected: str) -> None:
    spec = (
        RUNTIMES
        + framework("a", runtime="rt")
        + f'[[frameworks]]\nname = "b"\n{link}\nrequirements = []\n'
    )
    assert problems(spec) == [f"SPEC: framework-b: frameworks[1]: {expected}"]


def test_duplicate_names(problems: Problems) -> None:
    spec = RUNTIMES + framework("a", runtime="rt") + framework("a", runtime="rt")
    assert problems(spec) == [
        (
            "SPEC: framework-a: frameworks[1].name: framework name 'a' is already defined at "
            "frameworks[0]; names must be distinct within [[frameworks]]"
        )
    ]


def test_same_name_in_different_kinds_is_fine(load: Load) -> None:
    spec = load(RUNTIMES + framework("rt", runtime="rt") + application("rt", "rt"), LAUNCH)
    assert [layer.build_name for layer in spec.graph] == ["rt", "rt2", "framework-rt", "app-rt"]


def test_broken_dependency_causes_no_follow_on_problems(problems: Problems) -> None:
    spec = RUNTIMES + framework("a", runtime="nope") + framework("b", "a") + application("app", "b")
    assert problems(spec, LAUNCH) == [
        "SPEC: framework-a: frameworks[0].runtime: unknown runtime 'nope'; defined runtimes are 'rt', 'rt2'"
    ]


def test_platforms_are_inherited_and_narrowed(load: Load) -> None:
    spec = load(
        RUNTIMES
        + framework("wide", runtime="rt2")
        + framework("narrow", runtime="rt2", extra='platforms = ["win_amd64"]')
        + application("app", "wide", "narrow"),
        LAUNCH,
    )
    assert spec.graph.find(LayerKind.FRAMEWORK, LayerName("wide")).platforms == (
        TargetPlatform.LINUX_X86_64,
        TargetPlatform.WIN_AMD64,
    )
    assert spec.graph.find(LayerKind.APPLICATION, LayerName("app")).platforms == (
        TargetPlatform.WIN_AMD64,
    )


def test_platform_not_supported_by_lower_layers(problems: Problems) -> None:
    spec = RUNTIMES + framework(
        "a", runtime="rt2", extra='platforms = ["macosx_arm64", "win_amd64", "win_arm64"]'
    )
    assert problems(spec) == [
        (
            "SPEC: framework-a: frameworks[0].platforms: target platforms ['macosx_arm64', 'win_arm64'] "
            "are not supported by the layers this layer runs on (they support ['linux_x86_64', "
            "'win_amd64']); remove them or add them to the lower layers"
        )
    ]


def test_duplicate_platforms_are_reported_one_by_one(problems: Problems) -> None:
    spec = RUNTIMES.replace(
        'platforms = ["linux_x86_64", "win_amd64"]',
        'platforms = ["linux_x86_64", "win_amd64", "linux_x86_64"]',
    ) + framework(
        "a",
        runtime="nope",  # an unresolvable runtime doesn't hide the duplicates
        extra='platforms = ["win_amd64", "win_amd64", "linux_x86_64", "win_amd64"]',
    )
    assert problems(spec) == [
        (
            "SPEC: rt2: runtimes[1].platforms[2]: target platform 'linux_x86_64' is already listed "
            "at platforms[0]; list each platform once"
        ),
        (
            "SPEC: framework-a: frameworks[0].platforms[1]: target platform 'win_amd64' is already "
            "listed at platforms[0]; list each platform once"
        ),
        (
            "SPEC: framework-a: frameworks[0].platforms[3]: target platform 'win_amd64' is already "
            "listed at platforms[0]; list each platform once"
        ),
        (
            "SPEC: framework-a: frameworks[0].runtime: unknown runtime 'nope'; defined runtimes are "
            "'rt', 'rt2'"
        ),
    ]


def test_empty_platforms_disable_the_layer_and_its_dependants(load: Load) -> None:
    spec = load(
        RUNTIMES
        + framework("off", runtime="rt", extra="platforms = []")
        + application("app", "off"),
        LAUNCH,
    )
    assert [layer.build_name for layer in spec.graph if not layer.enabled] == [
        "framework-off",
        "app-app",
    ]


INDEXES = """
[[tool.uv.index]]
name = "cpu"
url = "https://example.com/cpu"
explicit = true

[[tool.uv.index]]
name = "cuda"
url = "https://example.com/cuda"
explicit = true
"""


def test_package_indexes_are_inherited(load: Load) -> None:
    spec = load(
        RUNTIMES
        + framework("torch", runtime="rt", extra='package_indexes = {Torch = "cpu"}')
        + application("app", "torch", extra='package_indexes = {torch = "cpu"}')
        + INDEXES,
        LAUNCH,
    )
    assert spec.graph.find(LayerKind.FRAMEWORK, LayerName("torch")).package_indexes == {
        "torch": "cpu"
    }


# Two frameworks that take torch from different indexes.
TORCH_VARIANTS = framework(
    "cpu", runtime="rt", extra='package_indexes = {torch = "cpu"}'
) + framework("cuda", runtime="rt", extra='package_indexes = {torch = "cuda"}')


def test_conflicting_package_index_between_dependencies(problems: Problems) -> None:
    spec = RUNTIMES + TORCH_VARIANTS + application("app", "cpu", "cuda") + INDEXES
    assert problems(spec, LAUNCH) == [
        (
            "SPEC: app-app: applications[0].frameworks: 'framework-cpu' gets 'torch' from index "
            "'cpu' but 'framework-cuda' gets it from 'cuda'; to accept this, add "
            'index_overrides = {cuda = "cpu"}'
        )
    ]


def test_index_override_accepts_the_conflict(load: Load) -> None:
    spec = load(
        RUNTIMES
        + TORCH_VARIANTS
        + application("app", "cpu", "cuda", extra='index_overrides = {cuda = "cpu"}')
        + INDEXES,
        LAUNCH,
    )
    assert spec.graph.find(LayerKind.APPLICATION, LayerName("app")).enabled


def test_own_package_index_conflicts_with_inherited(problems: Problems) -> None:
    spec = (
        RUNTIMES
        + framework("cpu", runtime="rt", extra='package_indexes = {torch = "cpu"}')
        + application("app", "cpu", extra='package_indexes = {torch = "cuda"}')
        + INDEXES
    )
    assert problems(spec, LAUNCH) == [
        (
            "SPEC: app-app: applications[0].package_indexes.torch: package_indexes picks index 'cuda' for "
            "'torch' but 'framework-cpu' gets it from 'cpu'; to accept this, add "
            'index_overrides = {cpu = "cuda"}'
        )
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'package_indexes = {torch = "gpu"}',
            (
                "frameworks[0].package_indexes.torch: unknown package index 'gpu'; named indexes are "
                "'cpu', 'cuda' (for package 'torch')"
            ),
        ),
        (
            'priority_indexes = ["gpu"]',
            "frameworks[0].priority_indexes[0]: unknown package index 'gpu'; named indexes are 'cpu', 'cuda'",
        ),
        (
            'index_overrides = {gpu = "cpu"}',
            "frameworks[0].index_overrides.gpu: unknown package index 'gpu'; named indexes are 'cpu', 'cuda'",
        ),
        (
            'package_indexes = {Torch = "cpu", torch = "cuda"}',
            (
                "frameworks[0].package_indexes.torch: multiple sources for 'torch' after name "
                "normalization; keep one"
            ),
        ),
    ],
)
def test_layer_index_problems(problems: Problems, extra: str, expected: str) -> None:
    spec = RUNTIMES + framework("f", runtime="rt", extra=extra) + INDEXES
    assert problems(spec) == [f"SPEC: framework-f: {expected}"]


def test_index_names_need_a_uv_config(problems: Problems) -> None:
    spec = RUNTIMES + framework("f", runtime="rt", extra='priority_indexes = ["cpu"]')
    assert problems(spec) == [
        (
            "SPEC: framework-f: frameworks[0].priority_indexes[0]: unknown package index 'cpu'; "
            "no named package indexes are defined in the uv settings"
        )
    ]


def test_uv_sources_must_name_an_index(problems: Problems) -> None:
    spec = RUNTIMES + '[tool.uv.sources]\nscipy = { git = "https://example.com/scipy.git" }\n'
    assert problems(spec) == [
        (
            "SPEC: tool.uv.sources.scipy: source for 'scipy' must be { index = \"<index name>\" }; "
            "venvstacks installs only wheels from package indexes (no git, path or URL sources)"
        )
    ]


def test_uv_index_and_source_references(problems: Problems) -> None:
    spec = (
        RUNTIMES
        + INDEXES
        + """
[[tool.uv.index]]
name = "cpu"
url = "https://example.com/again"

[tool.uv.sources]
numpy = { index = "nope" }
NumPy = { index = "cpu" }
"""
    )
    assert problems(spec) == [
        "SPEC: tool.uv.index[2].name: index name 'cpu' is already used by an earlier index",
        (
            "SPEC: tool.uv.sources.numpy.index: source for 'numpy' references an unknown package "
            "index 'nope'; named indexes are 'cpu', 'cuda'"
        ),
        "SPEC: tool.uv.sources.NumPy: multiple sources for 'numpy' after name normalization; keep one",
    ]


@pytest.mark.parametrize(
    ("extra", "files", "expected"),
    [
        (
            'support_modules = ["a/util.py", "b/util.py"]',
            {"a/util.py": "", "b/util.py": ""},
            (
                "applications[0].support_modules: support modules 'a/util.py' and 'b/util.py' have the "
                "same import name 'util'; rename one of them"
            ),
        ),
        (
            'support_modules = ["lib/launch"]',
            {"lib/launch/__init__.py": ""},
            (
                "applications[0].launch_module: launch module 'launch.py' has the same import name "
                "'launch' as support module 'lib/launch'; rename one of them"
            ),
        ),
        (
            'support_modules = ["notes.txt"]',
            {"notes.txt": ""},
            "applications[0].support_modules[0]: support module 'notes.txt' must be a .py file or a package folder",
        ),
        (
            'support_modules = ["ok.py", "gone.py"]',
            {"ok.py": ""},
            (
                "applications[0].support_modules[1]: support module 'gone.py' does not exist (paths are "
                "relative to the folder holding SPEC)"
            ),
        ),
    ],
)
def test_module_problems(
    problems: Problems, extra: str, files: dict[str, str], expected: str
) -> None:
    spec = RUNTIMES + application("app", runtime="rt", extra=extra)
    assert problems(spec, {**LAUNCH, **files}) == [f"SPEC: app-app: {expected}"]


def test_missing_launch_module(problems: Problems) -> None:
    spec = RUNTIMES + application("app", runtime="rt")
    assert problems(spec) == [
        (
            "SPEC: app-app: applications[0].launch_module: launch module 'launch.py' does not exist "
            "(paths are relative to the folder holding SPEC)"
        )
    ]


def test_launch_module_package_folder(load: Load) -> None:
    spec = load(
        RUNTIMES + application("app", runtime="rt").replace("launch.py", "tool"),
        {"tool/__main__.py": ""},
    )
    assert str(spec.graph.find(LayerKind.APPLICATION, LayerName("app")).launch_module) == "tool"
