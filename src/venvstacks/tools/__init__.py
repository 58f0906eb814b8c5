"""Adapters for the external programs venvstacks drives (uv, patchelf)."""
