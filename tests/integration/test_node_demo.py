"""`mpc demo` end to end: 3 hospital nodes + dealer, every secure result beside the plaintext one."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_and_secure_results_match_plaintext():
    r = subprocess.run([sys.executable, "-m", "mpc", "demo", "--iterations", "60"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "trusted dealer (demo convenience)" in out and "nodes stopped" in out
    rows = {}
    for line in out.splitlines():
        m = re.match(r"(.+?)\s{2,}(\[.*?\]|\S+)\s+(\[.*?\]|\S+)\s+[\d.]+ s$", line)
        if m:
            rows[m.group(1).strip()] = (m.group(2), m.group(3))
    assert len(rows) == 6, out
    for title, (secure, plain) in rows.items():
        if title.startswith("logistic"):
            assert float(secure) >= 0.8 and float(secure) >= float(plain) - 0.1, (secure, plain)
        elif secure.startswith("["):
            assert secure == plain, title
        else:
            assert float(secure) == pytest.approx(float(plain), abs=1e-3), title
    assert re.search(r"exit codes \{0: 0, 1: 0, 2: 0, 3: 0\}", out)
