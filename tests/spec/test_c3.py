from __future__ import annotations

import pytest

from venvstacks.spec.c3 import LinearisationError, linearise

# Each name maps to its declared bases; linearisations are computed bottom-up.
BASES = {
    "A": [],
    "B": ["A"],
    "C": ["A"],
    "D": ["B", "C"],
    "E": ["B"],
    "F": ["E"],
}


def lin(name: str) -> tuple[str, ...]:
    return linearise(BASES[name], lin)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ([], ()),
        (["A"], ("A",)),
        (["B", "C"], ("B", "C", "A")),  # diamond
        (["D", "F"], ("D", "F", "E", "B", "C", "A")),
        (["C", "B"], ("C", "B", "A")),  # declared order decides between independent bases
    ],
)
def test_linearise(declared: list[str], expected: tuple[str, ...]) -> None:
    assert linearise(declared, lin) == expected


def test_matches_python_mro() -> None:
    class A: ...

    class B(A): ...

    class C(A): ...

    class D(B, C): ...

    class E(B): ...

    class F(E): ...

    class G(D, F): ...

    assert [k.__name__ for k in G.__mro__[1:-1]] == list(linearise(["D", "F"], lin))


def test_conflict_reports_the_heads() -> None:
    bases = {"A": [], "B": [], "AB": ["A", "B"], "BA": ["B", "A"]}

    def order(name: str) -> tuple[str, ...]:
        return linearise(bases[name], order)

    with pytest.raises(LinearisationError) as caught:
        linearise(["AB", "BA"], order)
    assert caught.value.remaining == [["A", "B"], ["B", "A"]]
    assert caught.value.conflicting == ["A", "B"]


def test_base_before_derived_is_a_conflict() -> None:
    with pytest.raises(LinearisationError) as caught:
        linearise(["A", "B"], lin)
    assert caught.value.conflicting == ["A", "B"]
