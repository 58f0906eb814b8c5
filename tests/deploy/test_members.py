from __future__ import annotations

import pytest

from venvstacks.deploy.members import (
    ArchiveMember,
    MemberKind,
    UnsafeMemberError,
    check_members,
    compute_link_destination,
    compute_member_parts,
)

ROOT = "app-x@1"


def test_member_parts_start_at_the_layer_folder() -> None:
    assert compute_member_parts("app-x@1", ROOT) == ("app-x@1",)
    assert compute_member_parts("app-x@1/bin/python", ROOT) == ("app-x@1", "bin", "python")
    assert compute_member_parts("./app-x@1//lib/./x.py", ROOT) == ("app-x@1", "lib", "x.py")
    assert compute_member_parts("app-x@1/", ROOT) == ("app-x@1",)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd", "an absolute path"),
        ("/app-x@1/x", "an absolute path"),
        ("../evil", "a '..' component"),
        ("app-x@1/../evil", "a '..' component"),
        ("app-x@1/lib/../../evil", "a '..' component"),
        ("evil", "outside the layer folder 'app-x@1'"),
        ("app-x@2/x", "outside the layer folder 'app-x@1'"),
        ("", "outside the layer folder 'app-x@1'"),
        ("app-x@1\\..\\evil", "an unsupported character in its name"),
        ("app-x@1/a\x00b", "an unsupported character in its name"),
    ],
)
def test_unsafe_member_names(name: str, reason: str) -> None:
    with pytest.raises(UnsafeMemberError) as info:
        compute_member_parts(name, ROOT, windows=False)
    assert info.value.name == name
    assert info.value.reason == reason


def test_colons_are_refused_only_on_windows() -> None:
    assert compute_member_parts("app-x@1/a:b", ROOT, windows=False) == ("app-x@1", "a:b")
    with pytest.raises(UnsafeMemberError, match="unsupported character"):
        compute_member_parts("app-x@1/a:b", ROOT, windows=True)


@pytest.mark.parametrize(
    ("name", "target", "destination"),
    [
        ("app-x@1/bin/python", "../../cpython-3.11/bin/python", ("cpython-3.11", "bin", "python")),
        ("app-x@1/bin/python3", "python", ("app-x@1", "bin", "python")),
        ("app-x@1/bin/python3", "./python", ("app-x@1", "bin", "python")),
        ("app-x@1/lib/libx.so", "../../app-x@1/lib/libx.so.1", ("app-x@1", "lib", "libx.so.1")),
        (
            "app-x@1/share/venv/dynlib/libx.so",
            "../../../lib/libx.so",
            ("app-x@1", "lib", "libx.so"),
        ),
        ("app-x@1/bin/layer", "..", ("app-x@1",)),
    ],
)
def test_symlinks_inside_the_deployment(
    name: str, target: str, destination: tuple[str, ...]
) -> None:
    parts = compute_member_parts(name, ROOT)
    assert compute_link_destination(name, parts, target, windows=False) == destination


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/usr/bin/python3", "a symlink to '/usr/bin/python3', outside the deployment folder"),
        ("../../../elsewhere", "a symlink to '../../../elsewhere', outside the deployment folder"),
        ("../..", "a symlink to '../..', the deployment folder itself"),
        ("sub/../../..", "a symlink to 'sub/../../..' ('..' is only allowed at its start)"),
        ("../x/..", "a symlink to '../x/..' ('..' is only allowed at its start)"),
        ("", "a symlink with no target"),
        ("..\\..\\x", "a symlink to '..\\\\..\\\\x', an unsupported target"),
    ],
)
def test_symlinks_leaving_the_deployment(target: str, reason: str) -> None:
    name = "app-x@1/bin/python"
    with pytest.raises(UnsafeMemberError) as info:
        compute_link_destination(name, compute_member_parts(name, ROOT), target, windows=False)
    assert info.value.reason == reason


def _check(*members: ArchiveMember) -> list[tuple[str, ...]]:
    return [parts for parts, _ in check_members(members, ROOT, windows=False)]


def _member(name: str, kind: MemberKind = "file", target: str = "") -> ArchiveMember:
    return ArchiveMember(name, kind, target=target)


def test_check_members_yields_safe_members_in_order() -> None:
    assert _check(
        _member("app-x@1", "dir"),
        _member("app-x@1/bin", "dir"),
        _member("app-x@1/bin/python", "symlink", "../../cpython-3.11/bin/python"),
        _member("app-x@1/lib/x.py"),
        _member("app-x@1/lib", "dir"),  # folders may come late, or twice
        _member("app-x@1/lib", "dir"),
    ) == [
        ("app-x@1",),
        ("app-x@1", "bin"),
        ("app-x@1", "bin", "python"),
        ("app-x@1", "lib", "x.py"),
        ("app-x@1", "lib"),
        ("app-x@1", "lib"),
    ]


@pytest.mark.parametrize(
    ("members", "name", "reason"),
    [
        ([_member("app-x@1/x", "hardlink")], "app-x@1/x", "a hard link"),
        ([_member("app-x@1/dev/sda", "device")], "app-x@1/dev/sda", "a device file"),
        ([_member("app-x@1/pipe", "fifo")], "app-x@1/pipe", "a FIFO"),
        ([_member("app-x@1/x", "other")], "app-x@1/x", "an unsupported member type"),
        ([_member("app-x@1")], "app-x@1", "the layer folder 'app-x@1' as a file"),
        (
            [_member("app-x@1", "symlink", "cpython-3.11")],
            "app-x@1",
            "the layer folder 'app-x@1' as a symlink",
        ),
        ([_member("app-x@1/x"), _member("app-x@1/x")], "app-x@1/x", "a duplicate name"),
        (
            [_member("app-x@1/x", "dir"), _member("app-x@1/x", "symlink", "y")],
            "app-x@1/x",
            "a duplicate name",
        ),
        (
            [
                _member("app-x@1/lib", "symlink", "../cpython-3.11/lib"),
                _member("app-x@1/lib/os.py"),
            ],
            "app-x@1/lib/os.py",
            "inside the symlink 'app-x@1/lib'",
        ),
        (
            [_member("app-x@1/lib", "symlink", "../cpython-3.11"), _member("app-x@1/lib/x/y")],
            "app-x@1/lib/x/y",
            "inside the symlink 'app-x@1/lib'",
        ),
    ],
)
def test_check_members_refuses(members: list[ArchiveMember], name: str, reason: str) -> None:
    with pytest.raises(UnsafeMemberError) as info:
        _check(*members)
    assert (info.value.name, info.value.reason) == (name, reason)
