from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Load, WriteSpec
from venvstacks.lock.metadata import LockMetadata, write_lock_metadata
from venvstacks.lock.paths import compute_lock_paths
from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.lock.versioning import LockValidity
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName

SPEC = """\
[[runtimes]]
name = "cpython-3.11"
python_implementation = "cpython@3.11.7"
requirements = []

[[frameworks]]
name = "base"
runtime = "cpython-3.11"
requirements = ["beta==1.0"]

[[frameworks]]
name = "upper"
frameworks = ["base"]
requirements = ["alpha"]
versioned = true

[[applications]]
name = "app"
launch_module = "app.py"
frameworks = ["upper"]
requirements = ["gamma"]
versioned = true

[[applications]]
name = "nowhere"
launch_module = "app.py"
runtime = "cpython-3.11"
requirements = []
platforms = []
"""
FILES = {"app.py": "import alpha\n"}
WHEEL = '[{path = "../../wheels/%s-py3-none-any.whl", hashes = {sha256 = "00"}}]'
PYLOCKS = {
    "cpython-3.11": "",
    "framework-base": 'name = "beta"\nversion = "1.0"\nwheels = ' + WHEEL % "beta-1.0",
    "framework-upper": (
        'name = "alpha"\nversion = "1.0"\nwheels = ' + WHEEL % "alpha-1.0" + "\n\n[[packages]]\n"
        'name = "beta"\nversion = "1.0"\nmarker = "sys_platform == \'from_lower_layer\'"'
    ),
    "app-app": 'name = "gamma"\nversion = "1.0"\nwheels = ' + WHEEL % "gamma-1.0",
}
LOCKED_AT = datetime(2025, 8, 27, tzinfo=UTC)


def write_pylock(spec: StackSpec, name: str, body: str) -> None:
    path = compute_lock_paths(spec.spec_dir, BuildName(name)).pylock
    path.parent.mkdir(parents=True, exist_ok=True)
    packages = f"\n[[packages]]\n{body}\n" if body else ""
    path.write_text(f'lock-version = "1.0"\ncreated-by = "uv"\n{packages}')


def record(spec: StackSpec, name: str, *, version: int = 1) -> None:
    """Write metadata matching the layer's current inputs (its dependencies are recorded first)."""
    inputs = compute_stack_lock_status(spec)[BuildName(name)].inputs
    assert inputs.requirements_hash is not None
    meta = LockMetadata(
        requirements_hash=inputs.requirements_hash,
        lock_input_hash=inputs.lock_input_hash,
        other_inputs_hash=inputs.other_inputs_hash,
        version_inputs_hash=inputs.version_inputs_hash,
        deployment_inputs_hash=inputs.deployment_inputs_hash,
        lock_version=version,
        locked_at=LOCKED_AT,
    )
    write_lock_metadata(compute_lock_paths(spec.spec_dir, BuildName(name)).metadata, meta)


@pytest.fixture
def locked(load: Load) -> StackSpec:
    spec = load(SPEC, FILES)
    for name, body in PYLOCKS.items():
        write_pylock(spec, name, body)
        record(spec, name, version=3 if name == "framework-upper" else 1)
    return spec


def summary(statuses: dict[BuildName, LayerLockStatus]) -> dict[str, tuple[str, LockValidity]]:
    return {name: (status.deployed_name, status.validity) for name, status in statuses.items()}


VALID = LockValidity()


def test_unlocked_stack(load: Load) -> None:
    spec = load(SPEC, FILES)
    missing = LockValidity(missing=("pylock", "metadata"))
    assert summary(compute_stack_lock_status(spec)) == {
        "cpython-3.11": ("cpython-3.11", missing),
        "framework-base": (
            "framework-base",
            LockValidity(("pylock", "metadata"), (), ("cpython-3.11",)),
        ),
        "framework-upper": (
            "framework-upper@???",
            LockValidity(("pylock", "metadata"), (), ("framework-base", "cpython-3.11")),
        ),
        "app-app": (
            "app-app@???",
            LockValidity(
                ("pylock", "metadata"), (), ("framework-upper", "framework-base", "cpython-3.11")
            ),
        ),
    }  # the disabled app-nowhere has no status at all


def test_valid_locks(locked: StackSpec) -> None:
    statuses = compute_stack_lock_status(locked)
    assert summary(statuses) == {
        "cpython-3.11": ("cpython-3.11", VALID),
        "framework-base": ("framework-base", VALID),
        "framework-upper": ("framework-upper@3", VALID),
        "app-app": ("app-app@1", VALID),
    }
    assert statuses[BuildName("framework-upper")].lock_version == 3


def test_requirement_change_invalidates_the_layer_and_its_dependants(
    locked: StackSpec, load: Load
) -> None:
    spec = load(SPEC.replace('["beta==1.0"]', '["beta==1.0", "delta"]'), FILES)
    assert spec.spec_dir == locked.spec_dir
    assert summary(compute_stack_lock_status(spec)) == {
        "cpython-3.11": ("cpython-3.11", VALID),
        "framework-base": ("framework-base", LockValidity(changed=("lock_input_hash",))),
        "framework-upper": (
            "framework-upper@3",
            LockValidity(unlocked_dependencies=("framework-base",)),
        ),
        "app-app": (
            "app-app@1",
            LockValidity(unlocked_dependencies=("framework-upper", "framework-base")),
        ),
    }


def test_edited_or_missing_pylock(locked: StackSpec) -> None:
    write_pylock(locked, "app-app", PYLOCKS["app-app"].replace('"1.0"', '"1.1"'))
    status = compute_stack_lock_status(locked)[BuildName("app-app")]
    assert status.validity == LockValidity(changed=("requirements_hash",))
    assert status.validity.needs_resolution
    status.paths.pylock.unlink()
    status = compute_stack_lock_status(locked)[BuildName("app-app")]
    assert status.validity == LockValidity(("pylock",), ("requirements_hash",))


@pytest.mark.usefixtures("locked")
def test_other_inputs_invalidate(load: Load) -> None:
    spec = load(
        SPEC.replace(
            'requirements = ["alpha"]', 'requirements = ["alpha"]\nplatforms = ["win_amd64"]'
        ),
        FILES,
    )
    statuses = compute_stack_lock_status(spec)
    assert statuses[BuildName("framework-upper")].validity == LockValidity(
        changed=("other_inputs_hash",)
    )


def test_versioned_dependency_name_feeds_the_dependants(locked: StackSpec) -> None:
    # framework-upper relocked as version 4: the app's deployed path to it changes.
    record(locked, "framework-upper", version=4)
    statuses = compute_stack_lock_status(locked)
    assert statuses[BuildName("framework-upper")].deployed_name == "framework-upper@4"
    app = statuses[BuildName("app-app")]
    assert app.validity == LockValidity(changed=("deployment_inputs_hash",))
    assert not app.validity.needs_resolution  # only the version changes


def test_launch_module_change_bumps_versioned_apps_only(
    locked: StackSpec, write_spec: WriteSpec
) -> None:
    write_spec(SPEC, {"app.py": "import alpha  # edited\n"})
    statuses = compute_stack_lock_status(locked)
    assert statuses[BuildName("app-app")].validity == LockValidity(changed=("version_inputs_hash",))
    assert statuses[BuildName("framework-upper")].validity == VALID


def test_metadata_from_venvstacks_08_is_valid(locked: StackSpec) -> None:
    for name in ("framework-upper", "app-app"):
        path = compute_lock_paths(locked.spec_dir, BuildName(name)).metadata
        data = json.loads(path.read_text())
        del data["deployment_inputs_hash"]
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    statuses = compute_stack_lock_status(locked)
    adopt = LockValidity(adopt_deployment_inputs=True)
    assert summary(statuses) == {
        "cpython-3.11": ("cpython-3.11", VALID),
        "framework-base": ("framework-base", VALID),
        "framework-upper": ("framework-upper@3", adopt),
        "app-app": ("app-app@1", adopt),
    }
    # Without our hash, a dependency's new version is not noticed (as in 0.8).
    record(locked, "framework-upper", version=5)
    assert compute_stack_lock_status(locked)[BuildName("app-app")].validity == adopt


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        '{"_legacy_requirements_hash": "sha256:00"}',
        '{"lock_version": 1}',
    ],
)
def test_unreadable_metadata_means_unlocked(locked: StackSpec, text: str) -> None:
    path = compute_lock_paths(locked.spec_dir, BuildName("framework-base")).metadata
    path.write_text(text)
    statuses = compute_stack_lock_status(locked)
    assert statuses[BuildName("framework-base")].validity == LockValidity(missing=("metadata",))
    assert statuses[BuildName("framework-base")].stored is None


def test_malformed_pylock_means_missing(locked: StackSpec) -> None:
    path: Path = compute_lock_paths(locked.spec_dir, BuildName("framework-base")).pylock
    path.write_text("[[packages]]\nname = 'beta'\n")  # no version
    status = compute_stack_lock_status(locked)[BuildName("framework-base")]
    assert status.validity == LockValidity(("pylock",), ("requirements_hash",))
