from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from venvstacks.errors import LockError
from venvstacks.lock.constraints import LockedPin
from venvstacks.lock.pylock import (
    HEADER,
    LockTarget,
    compute_wheel_path,
    postprocess_pylock,
    render_pylock,
)
from venvstacks.spec.platforms import TargetPlatform

P = TargetPlatform
LOCK_DIR = Path("/stack/requirements/app-app")
TARGET = LockTarget(
    platforms=(P.LINUX_X86_64, P.MACOSX_ARM64, P.WIN_AMD64),
    python_version="3.11.7",
    implementation="cpython",
    linux_version=(2, 28),
    macosx_version=(13, 0),
)
HASH = "{ sha256 = " + '"' + "ab" * 32 + '" }'

# As `uv export --format pylock.toml --no-header --no-emit-project` writes it.
EXPORTED = f"""\
lock-version = "1.0"
created-by = "uv"
requires-python = "==3.11.*"

[[packages]]
name = "everywhere"
version = "1.0"
marker = "python_full_version >= '3.9'"
index = "https://pypi.org/simple"
sdist = {{ url = "https://files.example/everywhere-1.0.tar.gz", hashes = {HASH} }}
wheels = [{{ url = "https://files.example/everywhere-1.0-py3-none-any.whl", hashes = {HASH} }}]

[[packages]]
name = "nowhere"
version = "1.0"
marker = "sys_platform == 'emscripten'"
index = "https://pypi.org/simple"
wheels = [{{ url = "https://files.example/nowhere-1.0-py3-none-any.whl", hashes = {HASH} }}]

[[packages]]
name = "local"
version = "2.0"
marker = "sys_platform == 'win32' or sys_platform == 'linux'"
index = "file:///stack/wheels"
wheels = [
    {{ url = "file:///stack/wheels/local-2.0-py3-none-win_amd64.whl", hashes = {HASH} }},
    {{ url = "file:///stack/wheels/local-2.0-py3-none-manylinux_2_17_x86_64.whl", hashes = {HASH} }},
]

[[packages]]
name = "beta"
version = "1.0"
index = "file:///stack/wheels"
sdist = {{ path = "/stack/wheels/beta-1.0.tar.gz", hashes = {HASH} }}
wheels = [{{ url = "file:///stack/wheels/beta-1.0-py3-none-any.whl", hashes = {HASH} }}]

[[packages]]
name = "delta"
version = "1.0"
marker = "sys_platform == 'win32'"
index = "https://pypi.org/simple"
wheels = [{{ url = "https://files.example/delta-1.0-py3-none-any.whl", hashes = {HASH} }}]

[[packages]]
name = "fromgit"
version = "0.1"
vcs = {{ type = "git", url = "https://git.example/fromgit", commit-id = "0123abc" }}
"""

LOWER = (LockedPin("beta", "1.0"), LockedPin("delta", "1.0", "sys_platform == 'win32'"))
DIGEST = "ab" * 32


def test_postprocess_pylock() -> None:
    processed = postprocess_pylock(
        EXPORTED,
        label="app-app",
        target=TARGET,
        constraints=(*LOWER, LockedPin("fromgit", "0.1")),
        lock_dir=LOCK_DIR,
    )
    assert processed.shared == ("beta", "delta", "fromgit")
    assert processed.render() == HEADER + (
        'lock-version = "1.0"\n'
        'created-by = "uv"\n'
        'requires-python = "==3.11.*"\n'
        "\n"
        "[[packages]]\n"
        'name = "everywhere"\n'
        'version = "1.0"\n'
        'index = "https://pypi.org/simple"\n'
        'wheels = [{url = "https://files.example/everywhere-1.0-py3-none-any.whl", '
        f'hashes = {{sha256 = "{DIGEST}"}}}}]\n'
        "\n"
        "[[packages]]\n"
        'name = "local"\n'
        'version = "2.0"\n'
        "marker = \"sys_platform == 'win32' or sys_platform == 'linux'\"\n"
        "wheels = [\n"
        '    {path = "../../wheels/local-2.0-py3-none-win_amd64.whl", '
        f'hashes = {{sha256 = "{DIGEST}"}}}},\n'
        '    {path = "../../wheels/local-2.0-py3-none-manylinux_2_17_x86_64.whl", '
        f'hashes = {{sha256 = "{DIGEST}"}}}},\n'
        "]\n"
        "\n"
        "[[packages]]\n"
        'name = "beta"\n'
        'version = "1.0"\n'
        "marker = \"sys_platform == 'from_lower_layer'\"\n"
        "\n"
        "[[packages]]\n"
        'name = "delta"\n'
        'version = "1.0"\n'
        "marker = \"(sys_platform == 'win32') and sys_platform == 'from_lower_layer'\"\n"
        "\n"
        "[[packages]]\n"
        'name = "fromgit"\n'
        'version = "0.1"\n'
        "marker = \"sys_platform == 'from_lower_layer'\"\n"
    )
    # What uv writes is still a valid pylock after post-processing.
    assert tomllib.loads(processed.render())["packages"][1]["wheels"][0] == {
        "path": "../../wheels/local-2.0-py3-none-win_amd64.whl",
        "hashes": {"sha256": DIGEST},
    }


def test_conditional_lower_pin_shares_only_where_it_applies() -> None:
    # delta applies on Windows only here, but the lower layer has it everywhere.
    processed = postprocess_pylock(
        EXPORTED.replace('name = "fromgit"', 'name = "fromgit"\nmarker = "os_name == \'java\'"'),
        label="app-app",
        target=TARGET,
        constraints=(LockedPin("beta", "1.0"), LockedPin("delta", "1.0")),
        lock_dir=LOCK_DIR,
    )
    assert processed.shared == ("beta", "delta")
    names = [package["name"] for package in processed.data["packages"]]
    assert names == ["everywhere", "local", "beta", "delta"]  # fromgit applies nowhere


def test_missing_wheels_are_an_error() -> None:
    with pytest.raises(LockError) as caught:
        postprocess_pylock(
            EXPORTED, label="app-app", target=TARGET, constraints=LOWER, lock_dir=LOCK_DIR
        )
    assert str(caught.value) == (
        "app-app: some packages have no wheels for the layer's platforms: "
        "fromgit: no wheels available for ['linux_x86_64', 'macosx_arm64', 'win_amd64']. "
        "There are no platforms with wheels available for all packages."
    )


def test_missing_wheels_hint_names_the_platforms_left() -> None:
    exported = EXPORTED.replace("local-2.0-py3-none-win_amd64", "local-2.0-py3-none-win_arm64")
    with pytest.raises(LockError) as caught:
        postprocess_pylock(
            exported,
            label="framework-x",
            target=TARGET,
            constraints=(*LOWER, LockedPin("fromgit", "0.1")),
            lock_dir=LOCK_DIR,
        )
    assert str(caught.value) == (
        "framework-x: some packages have no wheels for the layer's platforms: "
        "local: no wheels available for ['win_amd64']. "
        "Set platforms to ['linux_x86_64', 'macosx_arm64'] to limit to available wheels."
    )


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("file:///stack/wheels/a-1-py3-none-any.whl", "../../wheels/a-1-py3-none-any.whl"),
        ("file:///stack/wheels/a%2Bb-1-py3-none-any.whl", "../../wheels/a+b-1-py3-none-any.whl"),
        ("file:///stack/requirements/app-app/w/a.whl", "w/a.whl"),
        ("file:///elsewhere/a.whl", "../../../elsewhere/a.whl"),
        ("/stack/wheels/a.whl", "../../wheels/a.whl"),
        ("wheels/a.whl", "wheels/a.whl"),  # already relative: kept
        ("https://files.example/a.whl", None),
    ],
)
def test_compute_wheel_path(location: str, expected: str | None) -> None:
    assert compute_wheel_path(location, LOCK_DIR) == expected


def test_render_pylock_layout() -> None:
    data = {
        "lock-version": "1.0",
        "environments": ["sys_platform == 'linux'"],
        "packages": [
            {
                "name": "a",
                "version": "1",
                "wheels": [{"path": "a.whl", "hashes": {"sha256": "00"}}],
            },
            {"name": "b", "version": "2", "marker": "os_name == 'nt'"},
        ],
    }
    assert render_pylock(data) == (
        'lock-version = "1.0"\n'
        "environments = [\"sys_platform == 'linux'\"]\n"
        "\n"
        "[[packages]]\n"
        'name = "a"\n'
        'version = "1"\n'
        'wheels = [{path = "a.whl", hashes = {sha256 = "00"}}]\n'
        "\n"
        "[[packages]]\n"
        'name = "b"\n'
        'version = "2"\n'
        "marker = \"os_name == 'nt'\"\n"
    )
    assert tomllib.loads(render_pylock(data)) == data
    assert render_pylock({"lock-version": "1.0"}) == 'lock-version = "1.0"\npackages = []\n'


def test_render_pylock_inlines_arrays_of_tables() -> None:
    # PEP 751 allows packages.dependencies and wheels[].attestation-identities.
    data = {
        "lock-version": "1.0",
        "packages": [
            {
                "name": "a",
                "version": "1",
                "dependencies": [{"name": "b"}, {"name": "c", "version": "2"}],
                "wheels": [
                    {
                        "name": "a-1-py3-none-any.whl",
                        "attestation-identities": [{"kind": "GitHub"}],
                        "hashes": {"sha256": "00"},
                    }
                ],
            },
            {"name": "b", "version": "2", "wheels": []},
        ],
    }
    assert render_pylock(data).splitlines()[3:] == [
        'name = "a"',
        'version = "1"',
        'dependencies = [{name = "b"}, {name = "c", version = "2"}]',
        'wheels = [{name = "a-1-py3-none-any.whl", attestation-identities = [{kind = "GitHub"}], hashes = {sha256 = "00"}}]',
        "",
        "[[packages]]",
        'name = "b"',
        'version = "2"',
        "wheels = []",
    ]
    assert tomllib.loads(render_pylock(data)) == data


def test_minor_version_requests_keep_packages_for_later_maintenance_releases() -> None:
    exported = """\
lock-version = "1.0"
created-by = "uv"
requires-python = "==3.11.*"

[[packages]]
name = "newer"
version = "1.0"
marker = "python_full_version >= '3.11.4'"
wheels = [{ url = "https://example.invalid/newer-1.0-py3-none-any.whl", hashes = { sha256 = "00" } }]
"""
    target = dataclasses.replace(TARGET, python_version="3.11")
    processed = postprocess_pylock(
        exported, label="framework-x", target=target, constraints=(), lock_dir=Path("/locks")
    )
    assert processed.data["packages"][0]["marker"] == "python_full_version >= '3.11.4'"
