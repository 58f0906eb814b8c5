"""An application that needs nothing but the runtime."""

import sys

print(sys.version)
