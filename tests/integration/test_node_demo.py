"""`mpc demo` end to end: 3 hospital nodes + dealer + budget service; every result differentially
private, each within a statistical tolerance (from its reported noise scale) of the plaintext one."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIGMAS = 6.0          # per coordinate, |noise| > 6 sd has probability < 2e-9


def test_demo_runs_with_dp_and_noised_results_are_close_to_plaintext(tmp_path):
    report = tmp_path / "demo.json"
    r = subprocess.run([sys.executable, "-m", "mpc", "demo", "--iterations", "60", "--json", str(report)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "trusted dealer (demo convenience)" in out and "budget service (own process" in out
    rows = {}
    for line in out.splitlines():
        m = re.match(r"(.+?)\s{2,}([\d.]+)\s+(\[.*?\]|\S+)\s+(\[.*?\]|\S+)\s+([\d.e+-]+)\s+[\d.]+ s$", line)
        if m:
            rows[m.group(1).strip()] = (float(m.group(2)), m.group(3), m.group(4))
    assert len(rows) == 6, out
    jobs = json.loads(report.read_text())["jobs"]
    assert [j["title"] for j in jobs] == list(rows)
    differs = False
    for job in jobs:
        eps, secure, plain = rows[job["title"]]
        assert eps == job["epsilon"] > 0
        entries = [e for e in job["privacy"] if not e.get("derived_from")]     # the releases
        assert entries and all(e["dp"] and e["mechanism"] == "distributed_discrete_gaussian" for e in entries)
        assert sum(e["epsilon"] for e in entries) == pytest.approx(job["epsilon"])     # the split adds up
        assert all(e["noise_std"] > 0 and e["relative_noise"] >= 0 for e in job["privacy"])   # expected error
        sd = job["noise_sd"]
        if job["protocol"] == "mean":                  # the mean's own error, relative to its public range
            [mean] = [e for e in job["privacy"] if e.get("derived_from")]
            assert mean["noise_std"] == sd and mean["scale_source"].startswith("public bound")
        if job["protocol"] == "logistic_regression":
            w = np.array(job["result"]["weights"] + [job["result"]["bias"]])
            w0 = np.array(job["plain_gd"]["weights"] + [job["plain_gd"]["bias"]])
            # ‖noise‖²/sd² is chi-square with 5 degrees of freedom: above 40 with probability < 1e-7;
            # 0.05 covers the fixed-point error of 60 secure steps
            assert np.linalg.norm(w - w0) <= math.sqrt(40) * sd + 0.05, (w, w0, sd)
            assert 0.0 <= job["secure"] <= 1.0 and job["plain"] >= 0.9
            assert float(secure) == pytest.approx(job["secure"], abs=1e-4)
        elif isinstance(job["plain"], list):
            assert np.all(np.abs(np.array(job["secure"]) - np.array(job["plain"])) <= SIGMAS * sd), job
            differs |= job["secure"] != job["plain"]
        else:
            assert abs(job["secure"] - job["plain"]) <= SIGMAS * sd, job
            differs |= job["secure"] != job["plain"]
    assert differs                                  # the statistics were noised, not exact
    spent = sum(j["epsilon"] for j in jobs)
    assert json.loads(report.read_text())["remaining"] == {f"party-{i}/patients": pytest.approx(10.0 - spent)
                                                           for i in range(3)}
    assert re.search(r"ledger verify: ledger OK: \d+ rows, chain verifies", out)
    assert re.search(r"exit codes \{0: 0, 1: 0, 2: 0, 3: 0\}", out)
