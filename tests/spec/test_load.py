"""Loading venvstacks.toml: accepted specs, warnings, and the exact text of every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from venvstacks.errors import SpecError
from venvstacks.spec.load import load_stack_spec
from venvstacks.spec.naming import LayerKind, LayerName
from venvstacks.spec.platforms import TargetPlatform

from ..conftest import Load, Problems, WriteSpec

RUNTIME = """
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11.7"
requirements = []
"""


def test_minimal_runtime_only_spec(load: Load) -> None:
    spec = load(RUNTIME)
    (runtime,) = spec.graph.layers
    assert runtime.kind is LayerKind.RUNTIME
    assert runtime.build_name == "cpython-3.11"
    assert runtime.platforms == tuple(TargetPlatform)
    assert runtime.python_implementation == "cpython@3.11.7"
    assert spec.warnings == ()


def test_all_fields_are_read(load: Load) -> None:
    spec = load(
        RUNTIME
        + """
        [[frameworks]]
        name = "torch@1"
        runtime = "cpython-3.11"
        requirements = ["torch>=2", "dlltracer; sys_platform == 'win32'"]
        platforms = ["win_amd64", "linux_x86_64"]
        versioned = true
        linux_target = "glibc@2.34"
        macosx_target = "14"
        dynlib_exclude = ["triton/**"]
        package_indexes = {Torch = "pytorch-cpu"}
        priority_indexes = ["pytorch-cpu"]

        [[applications]]
        name = "chat"
        frameworks = ["torch@1"]
        requirements = []
        launch_module = "chat.py"
        support_modules = ["zhelpers", "aux.py"]

        [tool.uv]
        exclude-newer = "2025-01-01T00:00:00Z"

        [[tool.uv.index]]
        name = "pytorch-cpu"
        url = "https://download.pytorch.org/whl/cpu"
        explicit = true
        """.replace("\n        ", "\n"),
        files={"chat.py": "", "zhelpers/__init__.py": "", "aux.py": ""},
    )
    framework = spec.graph.find(LayerKind.FRAMEWORK, LayerName("torch@1"))
    assert framework.build_name == "framework-torch@1"
    assert [str(r) for r in framework.requirements] == [
        "torch>=2",
        'dlltracer; sys_platform == "win32"',
    ]
    assert framework.platforms == (TargetPlatform.LINUX_X86_64, TargetPlatform.WIN_AMD64)
    assert framework.versioned
    assert (framework.linux_target, framework.macosx_target) == ("glibc@2.34", "14")
    assert framework.dynlib_exclude == ("triton/**",)
    assert framework.package_indexes == {"torch": "pytorch-cpu"}
    assert framework.priority_indexes == ("pytorch-cpu",)
    app = spec.graph.find(LayerKind.APPLICATION, LayerName("chat"))
    assert app.runtime == "cpython-3.11"
    assert app.frameworks == ("torch@1",)
    assert app.platforms == framework.platforms
    assert str(app.launch_module) == "chat.py"
    assert [str(m) for m in app.support_modules] == ["aux.py", "zhelpers"]
    assert spec.uv.index_names == ("pytorch-cpu",)
    assert spec.uv.settings["exclude-newer"] == "2025-01-01T00:00:00Z"


def test_uv_settings_file_beside_the_spec(load: Load) -> None:
    spec = load(
        RUNTIME,
        files={
            "venvstacks.uv.toml": '[[index]]\nname = "mine"\nurl = "https://example.com/simple"\n'
        },
    )
    assert spec.uv.index_names == ("mine",)
    assert spec.uv.source.endswith("venvstacks.uv.toml")


def test_inline_uv_table_wins_over_the_file(load: Load) -> None:
    spec = load(
        RUNTIME + '[tool.uv]\nexclude-newer = "2025-01-01"\n',
        files={"venvstacks.uv.toml": '[[index]]\nname = "mine"\nurl = "https://example.com"\n'},
    )
    assert spec.uv.index_names == ()
    assert len(spec.warnings) == 1
    assert spec.warnings[0].render().endswith("has a [tool.uv] table")
    assert "venvstacks.uv.toml: ignored, because" in spec.warnings[0].render()


def test_obsolete_fields_warn_and_keep_working(load: Load) -> None:
    spec = load(
        """
        [[runtimes]]
        name = "cpython-3.11"
        fully_versioned_name = "cpython@3.11.7"
        requirements = []
        build_requirements = ["setuptools"]
        """
    )
    assert spec.graph.layers[0].python_implementation == "cpython@3.11.7"
    assert [w.render().split(": ", 1)[1] for w in spec.warnings] == [
        "cpython-3.11: runtimes[0].build_requirements: obsolete and ignored; remove it",
        "cpython-3.11: runtimes[0].fully_versioned_name: obsolete; rename it to 'python_implementation'",
    ]


def test_unknown_top_level_key_warns(load: Load) -> None:
    spec = load(RUNTIME + "\n[[framework]]\nname = 'x'\n")
    assert [w.render().split(": ", 1)[1] for w in spec.warnings] == [
        "framework: unknown top-level key 'framework' is ignored (did you mean 'frameworks'?)"
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_stack_spec(tmp_path / "nope.toml")
    assert str(caught.value) == (
        f"{tmp_path / 'nope.toml'}: file not found; pass the path of a stack specification (venvstacks.toml)"
    )


def test_toml_syntax_error_has_line_and_column(problems: Problems) -> None:
    assert problems('[[runtimes]]\nname = "x\n') == [
        "SPEC: line 2, column 10: invalid TOML: Illegal character '\\n'"
    ]


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        pytest.param(
            'requirements = ["numpy>="]',
            "runtimes[0].requirements[0]: invalid requirement 'numpy>=': Expected semicolon "
            "(after name with no version specifier) or end; use PEP 508 syntax such as "
            "'numpy>=2.0' or 'torch; sys_platform == \"linux\"'",
            id="bad-requirement",
        ),
        pytest.param(
            'requirements = []\nplatforms = ["beos"]',
            "runtimes[0].platforms[0]: invalid target platform 'beos'; expected one of "
            "['linux_x86_64', 'linux_aarch64', 'macosx_arm64', 'macosx_x86_64', 'win_amd64', 'win_arm64']",
            id="unknown-platform",
        ),
        pytest.param(
            'requirements = []\nlinux_target = "musl@1.2"',
            "runtimes[0].linux_target: Linux libc variant must be one of ['glibc'], not 'musl'; "
            "use 'glibc' or 'glibc@X.Y' such as 'glibc@2.28'",
            id="linux-target-variant",
        ),
        pytest.param(
            'requirements = []\nlinux_target = "glibc@2"',
            "runtimes[0].linux_target: Linux libc version must be of the form 'X.Y', not '2'; "
            "use for example 'glibc@2.28'",
            id="linux-target-version",
        ),
        pytest.param(
            'requirements = []\nmacosx_target = "fourteen"',
            "runtimes[0].macosx_target: macOS target must be a version such as '14' or '13.0', not 'fourteen'",
            id="macosx-target",
        ),
        pytest.param(
            "requirements = []\nversioned = 'yes'",
            "runtimes[0].versioned: expected true or false, got string 'yes'",
            id="bool-type",
        ),
        pytest.param(
            'requirements = "numpy"',
            "runtimes[0].requirements: expected an array, got string 'numpy'",
            id="array-type",
        ),
        pytest.param(
            "requirements = [1]",
            "runtimes[0].requirements[0]: expected a string, got integer 1",
            id="string-type",
        ),
        pytest.param(
            "requirements = []\npackage_indexes = ['x']",
            "runtimes[0].package_indexes: expected a table, got array",
            id="table-type",
        ),
        pytest.param(
            "requirements = []\nrequirement = []",
            "runtimes[0].requirement: unknown key 'requirement' (did you mean 'requirements'?)",
            id="unknown-key",
        ),
        pytest.param(
            "requirements = []\ncolour = 'blue'",
            "runtimes[0].colour: unknown key 'colour'",
            id="unknown-key-no-suggestion",
        ),
        pytest.param(
            "requirements = []\nruntime = 'other'",
            "runtimes[0].runtime: 'runtime' can't be set in [[runtimes]]; it is only valid in "
            "[[frameworks]] and [[applications]]",
            id="key-of-another-kind",
        ),
        pytest.param(
            "requirements = []\nfully_versioned_name = 'cpython@3.11'",
            "runtimes[0].fully_versioned_name: sets both 'python_implementation' and the obsolete "
            "'fully_versioned_name'; remove 'fully_versioned_name'",
            id="both-implementation-fields",
        ),
        pytest.param(
            "",
            "runtimes[0].requirements: missing required key 'requirements'",
            id="missing-requirements",
        ),
    ],
)
def test_runtime_field_problems(problems: Problems, fragment: str, expected: str) -> None:
    spec = f'[[runtimes]]\nname = "rt"\npython_implementation = "cpython@3.11"\n{fragment}\n'
    assert problems(spec) == [f"SPEC: rt: {expected}"]


@pytest.mark.parametrize(
    ("implementation", "expected"),
    [
        (
            "cpython-3.11",
            (
                "invalid Python implementation 'cpython-3.11'; use '<implementation>@<version>' "
                "such as 'cpython@3.12.7' or 'cpython@3.12'"
            ),
        ),
        (
            "jython@2.7",
            "unknown Python implementation 'jython' in 'jython@2.7'; expected one of ['cpython', 'pypy']",
        ),
    ],
)
def test_python_implementation_problems(
    problems: Problems, implementation: str, expected: str
) -> None:
    spec = f'[[runtimes]]\nname = "rt"\npython_implementation = "{implementation}"\nrequirements = []\n'
    assert problems(spec) == [f"SPEC: rt: runtimes[0].python_implementation: {expected}"]


@pytest.mark.parametrize(
    "implementation", ["cpython@3.12", "cpython@3.12.7", "pypy@3.11.13", "cpython@3.14.0rc1"]
)
def test_python_implementation_accepted(load: Load, implementation: str) -> None:
    spec = load(
        f'[[runtimes]]\nname = "rt"\npython_implementation = "{implementation}"\nrequirements = []\n'
    )
    assert spec.graph.layers[0].python_implementation == implementation


def test_missing_name(problems: Problems) -> None:
    assert problems(
        "[[runtimes]]\npython_implementation = 'cpython@3.11'\nrequirements = []\n"
    ) == ["SPEC: runtimes[0].name: missing required key 'name'"]


def test_empty_module_path(problems: Problems) -> None:
    spec = (
        '[[runtimes]]\nname = "rt"\npython_implementation = "cpython@3.11"\nrequirements = []\n'
        '[[applications]]\nname = "a"\nruntime = "rt"\nrequirements = []\nlaunch_module = ""\n'
    )
    assert problems(spec) == [
        (
            "SPEC: app-a: applications[0].launch_module: module path can't be empty; give the path "
            "of a .py file or package folder, relative to the spec's folder"
        )
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "layer name can't be empty"),
        (
            "a/b",
            "layer name 'a/b' can't contain '/' or '\\' or be '.' or '..' (layer names become folder names)",
        ),
    ],
)
def test_bad_names(problems: Problems, name: str, expected: str) -> None:
    spec = f'[[runtimes]]\nname = "{name}"\npython_implementation = "cpython@3.11"\nrequirements = []\n'
    label = f"{name}: " if name else ""
    assert problems(spec) == [f"SPEC: {label}runtimes[0].name: {expected}"]


def test_reserved_runtime_prefix(problems: Problems) -> None:
    spec = (
        '[[runtimes]]\nname = "app-x"\npython_implementation = "cpython@3.11"\nrequirements = []\n'
    )
    assert problems(spec) == [
        (
            "SPEC: app-x: runtimes[0].name: runtime name 'app-x' starts with reserved prefix 'app-'; "
            "rename the runtime (framework and application build names start with that prefix)"
        )
    ]


def test_layers_must_be_arrays_of_tables(problems: Problems) -> None:
    assert problems("[frameworks]\nname = 'x'\n") == [
        "SPEC: frameworks: expected an array, got table"
    ]


def test_every_problem_is_reported_in_file_order(problems: Problems) -> None:
    spec = """
    [[runtimes]]
    name = "rt"
    python_implementation = "cpython@3.11"
    requirements = ["ok", "bad=="]

    [[frameworks]]
    name = "fw"
    runtime = "rt-typo"
    requirements = []

    [[frameworks]]
    name = "fw2"
    runtime = "rt"
    requirements = []
    versioned = 1

    [[applications]]
    name = "app"
    frameworks = ["fw2"]
    requirements = []
    launch_module = "missing.py"
    """
    assert problems(spec) == [
        (
            "SPEC: rt: runtimes[0].requirements[1]: invalid requirement 'bad==': Expected semicolon "
            "(after name with no version specifier) or end; use PEP 508 syntax such as 'numpy>=2.0' "
            "or 'torch; sys_platform == \"linux\"'"
        ),
        "SPEC: framework-fw: frameworks[0].runtime: unknown runtime 'rt-typo'; defined runtimes are 'rt'",
        "SPEC: framework-fw2: frameworks[1].versioned: expected true or false, got integer 1",
        (
            "SPEC: app-app: applications[0].launch_module: launch module 'missing.py' does not exist "
            "(paths are relative to the folder holding SPEC)"
        ),
    ]


def test_cli_path_is_shown_as_given(write_spec: WriteSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_spec('[[runtimes]]\nname = "rt"\n')
    monkeypatch.chdir(path.parent)
    with pytest.raises(SpecError) as caught:
        load_stack_spec(Path("venvstacks.toml"))
    assert [p.render() for p in caught.value.problems] == [
        "venvstacks.toml: rt: runtimes[0].requirements: missing required key 'requirements'",
        "venvstacks.toml: rt: runtimes[0].python_implementation: missing required key 'python_implementation'",
    ]


def test_problems_in_the_uv_settings_file(write_spec: WriteSpec) -> None:
    path = write_spec(RUNTIME, files={"venvstacks.uv.toml": '[[index]]\nname = "a"\n'})
    with pytest.raises(SpecError) as caught:
        load_stack_spec(path)
    assert (
        str(caught.value)
        == f"{path.with_name('venvstacks.uv.toml')}: index[0].url: missing required key 'url'"
    )


def test_invalid_uv_settings_cause_no_follow_on_index_problems(problems: Problems) -> None:
    spec = (
        RUNTIME
        + '[[frameworks]]\nname = "f"\nruntime = "cpython-3.11"\nrequirements = []\n'
        + 'priority_indexes = ["a"]\n'
        + '[[tool.uv.index]]\nname = "a"\nurl = "https://example.com"\nexplicit = "yes"\n'
    )
    assert problems(spec) == [
        "SPEC: tool.uv.index[0].explicit: expected true or false, got string 'yes'"
    ]


def test_key_of_another_kind_does_not_hide_other_problems(problems: Problems) -> None:
    spec = (
        RUNTIME
        + '[[applications]]\nname = "a"\nruntime = "cpython-3.11"\nrequirements = []\n'
        + 'python_implementation = "cpython@3.11"\nlaunch_module = "gone.py"\n'
    )
    assert problems(spec) == [
        (
            "SPEC: app-a: applications[0].python_implementation: 'python_implementation' can't be "
            "set in [[applications]]; it is only valid in [[runtimes]]"
        ),
        (
            "SPEC: app-a: applications[0].launch_module: launch module 'gone.py' does not exist "
            "(paths are relative to the folder holding SPEC)"
        ),
    ]


def test_warnings_travel_with_errors(write_spec: WriteSpec) -> None:
    path = write_spec(
        RUNTIME.replace("requirements = []", 'requirements = ["x=="]\nbuild_requirements = []')
    )
    with pytest.raises(SpecError) as caught:
        load_stack_spec(path)
    assert [w.render() for w in caught.value.warnings] == [
        f"{path}: cpython-3.11: runtimes[0].build_requirements: obsolete and ignored; remove it"
    ]
