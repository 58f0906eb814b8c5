"""The locking stage: resolve each layer with uv and record what the lock was made from.

Pure pieces (hash recipes, lock versions, marker environments, lower-layer
constraints, wheel checks, the ``pylock.<group>.meta.json`` model) live in their
own modules so they can be tested without uv.
"""
