"""Commands and reader kinds contributed by the parts above the host tools.

The layers import one way (protocol <- firmware <- keys <- host <- hil): the host never imports the
virtual rig, yet `icpurse sim ...`, `icpurse demo` and `--reader sim` are the rig's. The rig declares
them as entry points of the installed distribution (pyproject.toml):

    [project.entry-points."icpurse.commands"]   name = "module:click_command"
    [project.entry-points."icpurse.readers"]    name = "module:ReaderClass"   (ReaderClass(arg))

and the host finds them here by name. A part that is not installed simply contributes nothing.
"""
from importlib.metadata import entry_points

COMMANDS = "icpurse.commands"
READERS = "icpurse.readers"


class Missing(Exception):
    """The part that registered an entry point is not installed (its module cannot be found)."""


def registered(group):
    """{name: entry point} of `group`, as declared by the installed distributions."""
    return {ep.name: ep for ep in entry_points(group=group)}


def load(ep):
    """The object an entry point names; Missing when its module (or a package above it) is absent.
    Any other import failure is a bug in that part and propagates."""
    try:
        return ep.load()
    except ModuleNotFoundError as e:
        module = ep.value.partition(":")[0].strip()
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise Missing("%s is not installed" % e.name) from None
        raise
