"""C3 linearisation of framework dependencies (the algorithm behind Python's MRO).

A layer that depends on frameworks ``[B, C]`` gets a ``sys.path`` order that
keeps each framework before the frameworks it depends on and keeps the declared
order, exactly as a class ``D(B, C)`` gets its method resolution order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


class LinearisationError(Exception):
    """The dependency orders can't be merged; carries the unmergeable sequences."""

    def __init__(self, remaining: list[list[T]]) -> None:
        self.remaining = remaining
        super().__init__(f"remaining sequences: {remaining}")

    @property
    def conflicting(self) -> list[object]:
        """The heads of the remaining sequences: the layers that can't be ordered."""
        heads: list[object] = []
        for sequence in self.remaining:
            if sequence[0] not in heads:
                heads.append(sequence[0])
        return heads


def linearise(declared: Sequence[T], linearisation_of: Callable[[T], Sequence[T]]) -> tuple[T, ...]:
    """Return the C3 linearisation of *declared* (the layer itself is not included).

    *linearisation_of* gives an already linearised dependency's own order (also
    without itself).  Raises `LinearisationError` when no consistent order exists.
    """
    sequences = [[item, *linearisation_of(item)] for item in declared]
    sequences.append(list(declared))
    result: list[T] = []
    while True:
        sequences = [seq for seq in sequences if seq]
        if not sequences:
            return tuple(result)
        for seq in sequences:
            candidate = seq[0]
            if not any(candidate in other[1:] for other in sequences):
                break
        else:
            raise LinearisationError(sequences)
        result.append(candidate)
        for seq in sequences:
            if seq[0] == candidate:
                del seq[0]
