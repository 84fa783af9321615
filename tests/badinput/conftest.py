"""Bad-input tests reuse the firmware tests' fixtures (keys, issued cards, provisioned virtual readers)."""
import os
import sys

_FIRMWARE_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
if _FIRMWARE_TESTS not in sys.path:
    sys.path.insert(0, _FIRMWARE_TESTS)
