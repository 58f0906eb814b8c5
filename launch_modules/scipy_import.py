"""Launch module of app-scipy-import: prove the scipy framework is importable."""

import scipy

print(f"scipy {scipy.__version__} imported from {scipy.__file__}")
