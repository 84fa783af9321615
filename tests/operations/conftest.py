"""Helpers of the operations suite: the `icpurse` command as a subprocess, in an isolated
environment (its own ledger, hopper, configuration file; the INSECURE DEMO KEYS)."""
import json
import os
import subprocess
import sys

import pytest

ICPURSE = os.path.join(os.path.dirname(sys.executable), "icpurse")
PW = "correct horse battery"


class Icpurse:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.db = "sqlite:///%s" % (tmp_path / "ledger.db")
        self.hopper = tmp_path / "hopper"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ICPURSE_")}
        self.env.update({"ICPURSE_DB": self.db, "ICPURSE_KEYSTORE": "demo", "ICPURSE_READER": "sim:%s" % self.hopper,
                         "ICPURSE_NEW_PASSWORD": PW, "ICPURSE_OPERATOR_PASSWORD": PW,
                         "ICPURSE_CONFIG": str(tmp_path / "config.toml"), "ICPURSE_SIM_STATE": str(self.hopper),
                         "ICPURSE_ISSUER_NAME": "Example Retail Group 示例零售集团", "LC_ALL": "C.UTF-8"})

    def run(self, *args, expect=0, stdin=None):
        done = subprocess.run([ICPURSE] + [str(a) for a in args], env=self.env, capture_output=True, text=True,
                              timeout=120, input=stdin)
        assert "Traceback" not in done.stderr + done.stdout, (args, done.stderr)
        if expect is not None:
            assert done.returncode == expect, (args, done.returncode, done.stdout[-3000:], done.stderr[-3000:])
        return done

    def json(self, *args, expect=0):
        done = self.run(*args, "--json", expect=expect)
        return json.loads(done.stdout)


@pytest.fixture
def icp(tmp_path):
    return Icpurse(tmp_path)
