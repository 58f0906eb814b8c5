"""Allow ``python -m venvstacks``."""

from venvstacks.cli import main

main()
