"""Import one package from every framework layer of the diamond stack."""

import attrs
import certifi
import idna
import six

print(attrs.__name__, certifi.__name__, idna.__name__, six.__name__)
