"""``venvstacks lock`` selection and output options, through the real CLI, offline.

Every test starts from a copy of one stack locked once per module.  Which
layers uv resolved shows in the ``_build/<layer>_resolve`` folders (the copy
has none), which files were written in their bytes and modification times.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.test_lock import SPEC, make_wheels, normalise, venvstacks
from venvstacks.errors import LockError
from venvstacks.lock.locker import LockInstruction, lock_layers
from venvstacks.lock.project import IndexOptions
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import load_stack_spec
from venvstacks.spec.naming import BuildName

pytestmark = pytest.mark.slow

LAYERS = ("cpython-3.11", "framework-base", "framework-upper", "app-app")
PYLOCKS = {
    "cpython-3.11": "cpython-3.11/pylock.cpython-3_11.toml",
    "framework-base": "framework-base/pylock.framework-base.toml",
    "framework-upper": "framework-upper/pylock.framework-upper.toml",
    "app-app": "app-app/pylock.app-app.toml",
}
PLATFORMS = (
    "linux_aarch64",
    "linux_x86_64",
    "macosx_arm64",
    "macosx_x86_64",
    "win_amd64",
    "win_arm64",
)
NO_MATCH = (
    "error: no layers match 'nope*' (layers are: cpython-3.11, framework-base, "
    "framework-upper, app-app); pass --allow-missing to skip patterns that match nothing\n"
)


def new_project(folder: Path) -> Path:
    make_wheels(folder / "wheels")
    (folder / "launch").mkdir()
    (folder / "launch" / "app.py").write_text("import alpha, gamma\n")
    (folder / "venvstacks.toml").write_text(SPEC)
    return folder


@pytest.fixture(scope="module")
def locked_template(tmp_path_factory: pytest.TempPathFactory, python_mirror: Path) -> Path:
    project = new_project(tmp_path_factory.mktemp("locked-template"))
    proc = venvstacks(project, "lock", "--python-mirror", str(python_mirror))
    assert proc.returncode == 0, proc.stderr
    return project


@pytest.fixture
def locked(tmp_path: Path, locked_template: Path) -> Path:
    """Copy the locked stack (runtime installed under _build), without its resolve folders."""
    project = tmp_path / "stack"
    shutil.copytree(locked_template, project, symlinks=True)
    for folder in (project / "_build").glob("*_resolve"):
        shutil.rmtree(folder)
    return project


def run_ok(project: Path, *args: str) -> str:
    proc = venvstacks(project, *args)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    return normalise(proc.stdout)


def resolved(project: Path) -> list[str]:
    """Return the layers uv resolved (in definition order)."""
    return [name for name in LAYERS if (project / "_build" / f"{name}_resolve").exists()]


def snapshot(project: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(project / "requirements").as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted((project / "requirements").rglob("*"))
        if p.is_file()
    }


def touched(before: dict[str, tuple[bytes, int]], after: dict[str, tuple[bytes, int]]) -> list[str]:
    """Return the files (re)written between two snapshots."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def edit_spec(project: Path, old: str, new: str) -> None:
    spec = project / "venvstacks.toml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def lock_lines(project: Path, *entries: tuple[str, str, str]) -> str:
    lines = [f"Lock files (relative to {project}/requirements):"]
    lines += [
        f"  {PYLOCKS[layer]}  {deployed}  locked at <locked_at>  ({note})"
        for layer, deployed, note in entries
    ]
    return "\n".join(lines) + "\n"


def tree(project: Path, *lines: str) -> str:
    return "\n".join([f"{project}/venvstacks.toml", *lines]) + "\n"


def layer(name: str, target: str, valid: bool, *operations: str) -> dict[str, object]:
    return {
        "name": name,
        "install_target": target,
        "has_valid_lock": valid,
        "selected_operations": list(operations),
    }


def test_include_relocks_included_and_derived_layers(locked: Path) -> None:
    # framework-base needs a lock; the runtime doesn't.  Included: framework-upper.
    edit_spec(locked, 'requirements = ["beta==1.0"]', 'requirements = ["beta==1.0", "delta"]')
    before = snapshot(locked)
    assert run_ok(locked, "lock", "--include", "framework-upper") == lock_lines(
        locked,
        ("cpython-3.11", "cpython-3.11", "unchanged"),
        ("framework-base", "framework-base", "updated"),
        ("framework-upper", "framework-upper@1", "unchanged"),
        # delta now comes from framework-base: the app's lock changes, its version too.
        ("app-app", "app-app@2", "updated"),
    )
    # Dependencies are locked only if needed; the included and derived layers always.
    assert resolved(locked) == ["framework-base", "framework-upper", "app-app"]
    assert touched(before, snapshot(locked)) == [
        "app-app/packages-app-app.txt",
        "app-app/pylock.app-app.meta.json",
        "app-app/pylock.app-app.toml",
        "app-app/requirements-app-app-win_amd64.txt",
        "app-app/requirements-app-app-win_arm64.txt",
        "framework-base/packages-framework-base.txt",
        "framework-base/pylock.framework-base.meta.json",
        "framework-base/pylock.framework-base.toml",
        *(f"framework-base/requirements-framework-base-{p}.txt" for p in PLATFORMS),
        "framework-base/requirements-framework-base.in",
    ]


def test_include_with_lock_dependencies_relocks_them_too(locked: Path) -> None:
    before = snapshot(locked)
    out = run_ok(locked, "lock", "--include", "framework-upper", "--lock-dependencies")
    assert out.count("(unchanged)") == 4
    assert resolved(locked) == list(LAYERS)
    assert touched(before, snapshot(locked)) == []


def test_include_if_needed_leaves_derived_layers_out(locked: Path) -> None:
    edit_spec(locked, 'requirements = ["alpha"]', 'requirements = ["alpha", "delta"]')
    assert run_ok(locked, "lock", "--include", "framework-upper", "--if-needed") == lock_lines(
        locked,
        ("cpython-3.11", "cpython-3.11", "unchanged"),
        ("framework-base", "framework-base", "unchanged"),
        ("framework-upper", "framework-upper@2", "updated"),
    )
    assert resolved(locked) == ["framework-upper"]
    # The app was not selected: its lock names framework-upper@1, so it now needs a lock.
    assert run_ok(locked, "show", "--include", "app-app").splitlines()[-4:] == [
        "    └── *app-app -> app-app@1",
        "        ├── framework-upper -> framework-upper@2",
        "        ├── framework-base",
        "        └── cpython-3.11",
    ]


def test_reset_lock_alone_selects_every_layer(locked: Path) -> None:
    before = snapshot(locked)
    assert run_ok(locked, "lock", "--reset-lock", "framework-*") == lock_lines(
        locked,
        ("cpython-3.11", "cpython-3.11", "unchanged"),
        ("framework-base", "framework-base", "updated"),
        ("framework-upper", "framework-upper@1", "updated"),
        ("app-app", "app-app@1", "unchanged"),
    )
    assert resolved(locked) == list(LAYERS)
    after = snapshot(locked)
    # Only the matching locks were deleted and written again (with the same content).
    assert touched(before, after) == [PYLOCKS["framework-base"], PYLOCKS["framework-upper"]]
    assert all(after[name][0] == before[name][0] for name in before)


def test_reset_lock_of_a_dependency_needs_lock_dependencies(locked: Path) -> None:
    out = run_ok(
        locked, "lock", "--include", "framework-upper", "--reset-lock", "framework-*", "--json"
    )
    data = json.loads(out)
    operations = {
        layer["name"]: layer["selected_operations"]
        for kind in ("runtimes", "frameworks", "applications")
        for layer in data[kind]
    }
    assert operations == {
        "cpython-3.11": ["lock-if-needed"],
        "framework-base": ["lock-if-needed"],
        "framework-upper": ["reset-lock", "lock"],
        "app-app": ["lock"],
    }
    out = run_ok(
        locked,
        "lock",
        "--include",
        "framework-upper",
        "--reset-lock",
        "*",
        "--lock-dependencies",
        "--show-only",
    )
    assert out == tree(
        locked,
        "├── Runtimes",
        "│   └── cpython-3.11 (reset-lock, lock)",
        "├── Frameworks",
        "│   ├── framework-base (reset-lock, lock)",
        "│   └── framework-upper -> framework-upper@1 (reset-lock, lock)",
        "└── Applications",
        "    └── app-app -> app-app@1 (reset-lock, lock)",
    )


def test_patterns_matching_nothing(locked: Path) -> None:
    for args in (["--include", "nope*"], ["--reset-lock", "nope*"]):
        proc = venvstacks(locked, "lock", *args, "--show-only")
        assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", NO_MATCH)
    proc = venvstacks(
        locked, "lock", "--include", "nope*", "--include", "app-*", "--allow-missing", "--show-only"
    )
    assert proc.returncode == 0
    assert proc.stderr == "warning: no layers match 'nope*'\n"
    assert proc.stdout.splitlines()[-1] == "    └── app-app -> app-app@1 (lock)"
    proc = venvstacks(locked, "lock", "--include", "nope*", "--allow-missing")
    assert (proc.returncode, proc.stdout) == (0, "No layers found to lock.\n")
    assert proc.stderr == "warning: no layers match 'nope*'\n"


def test_reset_lock_pattern_matching_nothing_warns_with_allow_missing(locked: Path) -> None:
    proc = venvstacks(locked, "lock", "--reset-lock", "nope*", "--allow-missing", "--show-only")
    assert (proc.returncode, proc.stderr) == (0, "warning: no layers match 'nope*'\n")


def test_show_only_and_json_write_nothing(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    # No runtime, no uv, no files: --show-only and --json only plan.
    assert run_ok(project, "lock", "--show-only", "--include", "framework-upper") == tree(
        project,
        "├── Runtimes",
        "│   └── *cpython-3.11 (lock-if-needed)",
        "├── Frameworks",
        "│   ├── *framework-base (lock-if-needed)",
        "│   └── *framework-upper -> framework-upper@??? (lock)",
        "└── Applications",
        "    └── *app-app -> app-app@??? (lock)",
    )
    data = json.loads(run_ok(project, "lock", "--json", "--if-needed", "--include", "app-app"))
    assert data == {
        "spec_name": str(project / "venvstacks.toml"),
        "runtimes": [layer("cpython-3.11", "cpython-3.11", False, "lock-if-needed")],
        "frameworks": [
            layer("framework-base", "framework-base", False, "lock-if-needed"),
            layer("framework-upper", "framework-upper@???", False, "lock-if-needed"),
        ],
        "applications": [layer("app-app", "app-app@???", False, "lock-if-needed")],
    }
    assert sorted(p.name for p in project.iterdir()) == ["launch", "venvstacks.toml", "wheels"]


def test_show_and_json_report_after_locking(locked: Path) -> None:
    edit_spec(locked, 'requirements = ["gamma", "alpha"]', 'requirements = ["gamma"]')
    # One JSON document: the status once locking is done.
    after = json.loads(run_ok(locked, "lock", "--if-needed", "--show", "--json"))
    assert after["applications"] == [layer("app-app", "app-app@2", True, "lock-if-needed")]
    assert resolved(locked) == ["app-app"]
    # --show without --json: the tree, then what locking did.
    out = run_ok(locked, "lock", "--if-needed", "--include", "cpython-*", "--show")
    assert out == tree(
        locked, "└── Runtimes", "    └── cpython-3.11 (lock-if-needed)"
    ) + lock_lines(locked, ("cpython-3.11", "cpython-3.11", "unchanged"))


def test_clean_reinstalls_the_runtime(locked: Path, python_mirror: Path) -> None:
    runtime = locked / "_build" / "cpython-3.11"
    (runtime / "left-over").write_text("")
    out = run_ok(
        locked, "lock", "--clean", "--include", "app-app", "--python-mirror", str(python_mirror)
    )
    assert out.count("(unchanged)") == 4
    assert resolved(locked) == ["app-app"]
    assert not (runtime / "left-over").exists()
    assert (runtime / "bin" / "python3").exists()


def test_show_marks_a_changed_layer_and_its_dependants(locked: Path) -> None:
    edit_spec(locked, 'requirements = ["alpha"]', 'requirements = ["alpha", "delta"]')
    assert run_ok(locked, "show") == tree(
        locked,
        "├── Runtimes",
        "│   └── cpython-3.11",
        "├── Frameworks",
        "│   ├── framework-base",
        "│   │   └── cpython-3.11",
        "│   └── *framework-upper -> framework-upper@1",
        "│       ├── framework-base",
        "│       └── cpython-3.11",
        "└── Applications",
        "    └── *app-app -> app-app@1",
        "        ├── *framework-upper -> framework-upper@1",
        "        ├── framework-base",
        "        └── cpython-3.11",
    )


def test_a_dependency_without_a_valid_lock_stops_locking(tmp_path: Path) -> None:
    # The CLI always selects an included layer's dependencies, so only the library
    # can ask for a layer to be locked on top of unlocked ones.
    spec = load_stack_spec(new_project(tmp_path) / "venvstacks.toml")

    def python_for(runtime: Layer) -> Path:
        raise AssertionError(f"{runtime.build_name} should not be needed")

    with pytest.raises(LockError) as caught:
        lock_layers(
            spec,
            {BuildName("app-app"): LockInstruction()},
            build_dir=tmp_path / "_build",
            index_options=IndexOptions(),
            python_for=python_for,
        )
    assert str(caught.value) == (
        "app-app: can't lock before framework-upper, framework-base, cpython-3.11; lock those "
        "first (venvstacks lock --include app-app --lock-dependencies)"
    )
    assert not (tmp_path / "requirements").exists()


def test_narrowing_platforms_removes_their_views(locked: Path) -> None:
    edit_spec(
        locked,
        'launch_module = "launch/app.py"',
        'launch_module = "launch/app.py"\nplatforms = ["linux_x86_64", "win_amd64"]',
    )
    run_ok(locked, "lock", "--if-needed")
    assert resolved(locked) == ["app-app"]
    assert sorted(p.name for p in (locked / "requirements" / "app-app").iterdir()) == [
        "packages-app-app.txt",
        "pylock.app-app.meta.json",
        "pylock.app-app.toml",
        "requirements-app-app-linux_x86_64.txt",
        "requirements-app-app-win_amd64.txt",
        "requirements-app-app.in",
    ]
