"""Stage 1: read ``venvstacks.toml`` into a validated `StackSpec` and its layer graph."""
