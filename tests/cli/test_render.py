from __future__ import annotations

import io

from rich.console import Console

from tests.conftest import WriteSpec
from venvstacks.cli.render import render_status_tree
from venvstacks.pipeline import show_stack


def test_status_tree_is_neither_cropped_nor_markup(write_spec: WriteSpec) -> None:
    spec = write_spec(
        """
        [[runtimes]]
        name = "cpython[bold]-3.11"
        python_implementation = "cpython@3.11"
        requirements = []

        [[frameworks]]
        name = "a-framework-name-long-enough-to-need-more-than-forty-columns"
        runtime = "cpython[bold]-3.11"
        requirements = []
        versioned = true
        """
    )
    stream = io.StringIO()
    console = Console(file=stream, width=40, highlight=False, soft_wrap=True)
    console.print(render_status_tree(show_stack(spec)))
    assert stream.getvalue().splitlines() == [
        str(spec.absolute()),
        "├── Runtimes",
        "│   └── *cpython[bold]-3.11",
        "└── Frameworks",
        (
            "    └── *framework-a-framework-name-long-enough-to-need-more-than-forty-columns -> "
            "framework-a-framework-name-long-enough-to-need-more-than-forty-columns@???"
        ),
        "        └── *cpython[bold]-3.11",
    ]
