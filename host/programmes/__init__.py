"""Card programmes (product definitions) and the regulatory profiles they are checked against.

A programmes file (TOML) defines card products; a profile (MOFCOM single-purpose, PBOC
multi-purpose, utility/internal) is data in regulatory/*.toml. `check_programme` lists every
rule a programme breaks (docs/business-rules.md "Regulatory profiles",
"Conflicts the programme check flags").
"""
from icpurse.host.programmes.check import Violation, check_programme
from icpurse.host.programmes.model import (
    KINDS, Duration, KindTerms, Programme, ProgrammeFileError, load_programmes, parse_programme,
)
from icpurse.host.programmes.profiles import Profile, ProfileError, load_profile, profile_names

__all__ = [
    "KINDS", "Duration", "KindTerms", "Programme", "ProgrammeFileError", "load_programmes", "parse_programme",
    "Profile", "ProfileError", "load_profile", "profile_names", "Violation", "check_programme",
]
