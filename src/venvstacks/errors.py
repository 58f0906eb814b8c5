"""The exceptions venvstacks raises for problems a user can fix.

Every stage raises its own subclass of `VenvStacksError`; only the CLI turns them
into exit codes.  Anything else escaping the library is a bug in venvstacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, located as precisely as we can.

    ``where`` is a TOML path such as ``frameworks[1].requirements[0]`` (or a
    ``line L, column C`` position for syntax errors); ``layer`` is the build name
    of the layer the problem belongs to, when there is one.
    """

    file: str
    message: str
    where: str = ""
    layer: str = ""

    def render(self) -> str:
        """Return the single line shown to the user for this problem."""
        parts = [self.file]
        if self.layer:
            parts.append(self.layer)
        if self.where:
            parts.append(self.where)
        parts.append(self.message)
        return ": ".join(parts)


class VenvStacksError(Exception):
    """Base class of every error a user can act on.

    ``output`` is what an external tool printed on the way to the error (empty
    if none); the CLI shows it under ``--verbose``.
    """

    def __init__(self, message: str = "", *, output: str = "") -> None:
        self.output = output
        super().__init__(message)


class SpecError(VenvStacksError):
    """The stack specification (or its uv configuration) is invalid.

    Carries every problem found, so the user can fix them all in one pass, and
    the warnings found on the way (they may explain the problems).
    """

    def __init__(
        self,
        problems: list[Problem] | tuple[Problem, ...],
        warnings: list[Problem] | tuple[Problem, ...] = (),
    ) -> None:
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)
        super().__init__("\n".join(p.render() for p in self.problems))


class SelectionError(VenvStacksError):
    """A ``--include`` (or similar) layer pattern selected nothing."""


class ToolError(VenvStacksError):
    """An external tool (uv, patchelf, a layer's Python) failed.

    ``output`` holds everything the tool printed, so the CLI can replay it when
    the user asks for detail (``-v``) or the failure needs explaining.
    """

    def __init__(self, message: str, *, command: tuple[str, ...] = (), output: str = "") -> None:
        self.command = command
        super().__init__(message, output=output)


class RuntimeSourceError(VenvStacksError):
    """A base runtime could not be found, packed or installed."""


class BuildError(VenvStacksError):
    """A layer could not be built."""


class LockError(VenvStacksError):
    """A layer could not be locked."""


class LockRunError(LockError):
    """Several layers of one lock run could not be locked: ``errors`` holds each one's error.

    Includes, one per layer, the selected layers that were not attempted because
    a layer they run on failed.  The message is every error's message, one
    after the other.
    """

    def __init__(self, errors: Sequence[VenvStacksError]) -> None:
        self.errors = tuple(errors)
        super().__init__(
            "\n".join(str(error) for error in self.errors),
            output="\n".join(error.output for error in self.errors if error.output),
        )


class PublishError(VenvStacksError):
    """Built layers could not be published or exported."""


class DeployError(VenvStacksError):
    """Published layers could not be deployed (the target folder is left as it was)."""


class StoreError(VenvStacksError):
    """A layer store command failed (the store keeps its previous current release)."""


class FolderLockedError(VenvStacksError):
    """Another run holds the lock of a folder this one must write (see `venvstacks.locks`)."""


class SizesError(VenvStacksError):
    """A size report could not be made (layers not built, publication unreadable)."""
