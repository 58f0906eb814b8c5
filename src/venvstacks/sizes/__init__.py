"""Where the bytes go: sizes of built layers, per package, across layers and against a publication.

``venvstacks sizes`` reads built layers (and, when present, their published
archives' metadata); it never changes anything on disk.
"""

from venvstacks.sizes.model import StackSizes
from venvstacks.sizes.report import compute_stack_sizes

__all__ = ["StackSizes", "compute_stack_sizes"]
