"""The fuzz targets are plain scripts in targets/ (atheris runs them as __main__); pytest imports
them as modules from there."""
import os
import sys

TARGETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets")
if TARGETS not in sys.path:
    sys.path.insert(0, TARGETS)
