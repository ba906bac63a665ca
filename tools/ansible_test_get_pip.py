"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip from ci-files.testing.ansible.com, which these
machines cannot reach. This does the same job offline: pip from the
interpreter's own ensurepip wheel, then pip installs what ansible-test asked
for (the pinned pip, setuptools, wheel) from the package index pip uses.
"""

import ensurepip
import importlib
import json
import os
import runpy
import sys

CAPTURED_ENV = "{}"

# ansible-test runs this with a reduced environment: the package index
# settings of the machine (PIP_*, CA bundle) are put back here. tools/test
# writes the cached copy with them filled in (tools/test: sanity).
os.environ.update(json.loads(CAPTURED_ENV))

ensurepip.bootstrap(upgrade=True, default_pip=True)
importlib.invalidate_caches()
# get-pip's own options (--no-setuptools, --no-wheel): pip does not know them.
sys.argv = ["pip", "install", *(arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel"))]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
