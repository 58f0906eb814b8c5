"""Which archive members may be unpacked (pure): the checks behind safe extraction.

A layer archive holds one folder, named after the layer's deployed name, with
folders, regular files and symlinks in it.  Anything else is refused before it
is written:

* absolute names, ``..`` components, backslashes, NUL (and ``:`` on Windows);
* members outside the layer folder, and the layer folder as a non-folder;
* hard links, device files, FIFOs and other special members;
* symlinks whose target is longer than a path can be (`MAX_LINK_TARGET`
  bytes), or leaves the deployment folder (the folder the layers
  are unpacked side by side in).  Targets are relative and may only climb
  (``..``) at their start, so ``../../cpython-3.11/bin/python`` in a layered
  layer is fine, while ``a/../../..`` (which could climb out through another
  symlink) is not;
* members inside a symlink unpacked earlier (they would be written wherever the
  link points), and duplicate names (a folder may be listed twice).  Names are
  compared exactly; on case-insensitive file systems, where ``Lib`` and ``lib``
  are one entry, the writer refuses to create anything in or over an existing
  symlink (see `venvstacks.deploy.unpack`).

tarfile's ``filter="data"`` is not used: it refuses the sibling-layer symlinks
every layered layer has.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal

# PATH_MAX on Linux (macOS allows 1024): no symlink target a layer needs is longer.
MAX_LINK_TARGET = 4096
LINK_TOO_LONG = f"a symlink target longer than {MAX_LINK_TARGET} bytes, more than a path can be"
MemberKind = Literal["dir", "file", "symlink", "hardlink", "device", "fifo", "other"]
_REFUSED_KINDS = {
    "hardlink": "a hard link",
    "device": "a device file",
    "fifo": "a FIFO",
    "other": "an unsupported member type",
}


@dataclass(frozen=True)
class ArchiveMember:
    """One member as read from a tar or zip archive.

    ``name`` is as stored; ``target`` is a symlink's target; ``size`` is a file
    member's size as the archive declares it; ``content`` opens a file member's
    data (valid only until the next member is read).
    """

    name: str
    kind: MemberKind
    target: str = ""
    executable: bool = False
    mtime: int = 0
    size: int = 0
    content: Callable[[], IO[bytes]] | None = field(default=None, compare=False, repr=False)


class UnsafeMemberError(ValueError):
    """A member that must not be unpacked, and why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name!r}: {reason}")


def compute_member_parts(
    name: str, root: str, *, windows: bool = os.name == "nt"
) -> tuple[str, ...]:
    """Split a member name into path components below the deployment folder.

    The first component is *root* (the layer folder); empty and ``.``
    components are dropped.  Raises `UnsafeMemberError` for unsafe names.
    """
    if "\\" in name or "\x00" in name or (windows and ":" in name):
        raise UnsafeMemberError(name, "an unsupported character in its name")
    if name.startswith("/"):
        raise UnsafeMemberError(name, "an absolute path")
    parts = tuple(part for part in name.split("/") if part not in {"", "."})
    if ".." in parts:
        raise UnsafeMemberError(name, "a '..' component")
    if not parts or parts[0] != root:
        raise UnsafeMemberError(name, f"outside the layer folder '{root}'")
    return parts


def compute_link_destination(
    name: str, parts: tuple[str, ...], target: str, *, windows: bool = os.name == "nt"
) -> tuple[str, ...]:
    """Return where the symlink *parts* points, as components below the deployment folder.

    Raises `UnsafeMemberError` if the target leaves the deployment folder or
    climbs anywhere but at its start.
    """
    if not target:
        raise UnsafeMemberError(name, "a symlink with no target")
    if len(target.encode("utf-8", "surrogateescape")) > MAX_LINK_TARGET:
        raise UnsafeMemberError(name, LINK_TOO_LONG)
    if "\\" in target or "\x00" in target or (windows and ":" in target):
        raise UnsafeMemberError(name, f"a symlink to {target!r}, an unsupported target")
    if target.startswith("/"):
        raise UnsafeMemberError(name, f"a symlink to {target!r}, outside the deployment folder")
    location = list(parts[:-1])
    descended = False
    for part in target.split("/"):
        if part in {"", "."}:
            continue
        if part != "..":
            location.append(part)
            descended = True
        elif descended:
            raise UnsafeMemberError(
                name, f"a symlink to {target!r} ('..' is only allowed at its start)"
            )
        elif not location:
            raise UnsafeMemberError(name, f"a symlink to {target!r}, outside the deployment folder")
        else:
            location.pop()
    if not location:
        raise UnsafeMemberError(name, f"a symlink to {target!r}, the deployment folder itself")
    return tuple(location)


def check_members(
    members: Iterable[ArchiveMember], root: str, *, windows: bool = os.name == "nt"
) -> Iterator[tuple[tuple[str, ...], ArchiveMember]]:
    """Yield each member with its path components, once it is known to be safe.

    Checks run as members arrive, so a streamed archive is read only once;
    raises `UnsafeMemberError` at the first unsafe member.
    """
    seen: dict[tuple[str, ...], MemberKind] = {}
    links: set[tuple[str, ...]] = set()
    for member in members:
        parts = compute_member_parts(member.name, root, windows=windows)
        if member.kind in _REFUSED_KINDS:
            raise UnsafeMemberError(member.name, _REFUSED_KINDS[member.kind])
        if len(parts) == 1 and member.kind != "dir":
            raise UnsafeMemberError(member.name, f"the layer folder '{root}' as a {member.kind}")
        inside = next((parts[:i] for i in range(1, len(parts)) if parts[:i] in links), None)
        if inside is not None:
            raise UnsafeMemberError(member.name, f"inside the symlink '{'/'.join(inside)}'")
        previous = seen.get(parts)
        if previous is not None and not (previous == "dir" == member.kind):
            raise UnsafeMemberError(member.name, "a duplicate name")
        if member.kind == "symlink":
            compute_link_destination(member.name, parts, member.target, windows=windows)
            links.add(parts)
        seen[parts] = member.kind
        yield parts, member
