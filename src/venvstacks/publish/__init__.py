"""Publishing built layers: reproducible archives, local exports and their metadata."""
