"""venvstacks: lock, build and publish layered Python environments.

The command line (``venvstacks``) is the supported interface; the modules below
``venvstacks`` are organised by pipeline stage (see ``docs/architecture.md``).
"""

__version__ = "0.1.0"
