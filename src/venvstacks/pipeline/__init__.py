"""The operations behind each CLI command, as plain functions over the stages.

Each function takes the command's inputs, runs the stages in order and returns
an immutable result for the CLI to render: `show_stack` (``status``),
`lock_stack` and `plan_lock` (``locking``), `build_stack` and `plan_build`
(``building``), `publish_stack`, `export_stack` and `plan_publish`
(``publishing``).
"""

from venvstacks.pipeline.building import (
    BuildOptions,
    BuildResult,
    build_stack,
    plan_build,
    resolve_include_dependencies,
)
from venvstacks.pipeline.locking import LockOptions, LockResult, lock_stack, plan_lock
from venvstacks.pipeline.publishing import (
    PublishOptions,
    compute_default_format,
    compute_publish_selection,
    export_stack,
    load_publish_selection,
    plan_publish,
    publish_stack,
)
from venvstacks.pipeline.status import (
    LayerStatus,
    RecoveryHandler,
    StackStatus,
    hold_stack_folders,
    resolve_option_path,
    show_stack,
)

__all__ = [
    "BuildOptions",
    "BuildResult",
    "LayerStatus",
    "LockOptions",
    "LockResult",
    "PublishOptions",
    "RecoveryHandler",
    "StackStatus",
    "build_stack",
    "compute_default_format",
    "compute_publish_selection",
    "export_stack",
    "hold_stack_folders",
    "load_publish_selection",
    "lock_stack",
    "plan_build",
    "plan_lock",
    "plan_publish",
    "publish_stack",
    "resolve_include_dependencies",
    "resolve_option_path",
    "show_stack",
]
