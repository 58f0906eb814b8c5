"""The ``venvstacks`` command line interface."""

from venvstacks.cli.app import app, main

__all__ = ["app", "main"]
