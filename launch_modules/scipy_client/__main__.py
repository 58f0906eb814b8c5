"""Report the versions of both frameworks this application runs on."""

import httpx
import scipy
from report_helpers import describe

print(describe({"httpx": httpx.__version__, "scipy": scipy.__version__}))
