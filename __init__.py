"""icpurse: firmware and host tools for contactless IC prepaid cards.

The repository root is this package; ``icpurse.protocol`` is ``protocol/``, ``icpurse.host`` is
``host/``, ``icpurse.firmware`` is ``firmware/``, ``icpurse.keys`` is ``keys/``, ``icpurse.hil`` is
``hil/``.
"""

__version__ = "0.1.0"
