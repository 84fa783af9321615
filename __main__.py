"""`python -m icpurse`: the same as the `icpurse` command."""
from icpurse.host.cli import main

if __name__ == "__main__":
    main(prog_name="icpurse")
