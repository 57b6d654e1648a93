"""DP on, end to end: 3 node processes and a budget service process (mutual TLS, real grants).

Noised results are checked against the plaintext answer with a tolerance from the reported
noise scale; jobs whose grant is missing, reused, expired, forged, for another job or for
another dataset are refused in the prepare step, before any node runs them. Jobs that fail
before an output opens (a column typo, a partial refusal, a failure inside the job, a peer down
at submit) leave every dataset's spent epsilon unchanged, with reserve and release rows in the
ledger; a job that fails after its first output is charged exactly that output's share.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.budget import grants as g
from dp.budget.client import BudgetClient
from dp.budget.service import TlsFiles
from dp.errors import BudgetExceeded, GrantRefused
from mpc.client import Client
from mpc.errors import ProtocolAbort
from netjobs import make_cluster

pytestmark = pytest.mark.integration

ALL = {0: "patients", 1: "patients", 2: "patients"}
EPS, DELTA = 1.0, 1e-5
TOTAL = 50.0
SIGMAS = 6.0      # |noise| > 6 sd has probability < 2e-9 per coordinate


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    cluster, data = make_cluster(tmp_path_factory.mktemp("dp"), parties=3, dealer=False, budget=True)
    for i in range(3):
        cluster.budget.set_budget("local", f"party-{i}/patients", TOTAL, delta_total=0.01)
    cluster.start()
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config) as client:
            yield cluster, data, client
    finally:
        cluster.stop()


def _cat(data, col):
    return np.concatenate([data[i][col] for i in (0, 1, 2)])


def _spent(client) -> dict[str, float]:
    status = client.budget_status([f"party-{i}/patients" for i in range(3)])
    return {d: levels[0]["total_spent"] for d, levels in status.items()}


def _entry(out, name):
    entries = [e for e in out.privacy if e["output"] == name]
    assert len(entries) == 1, out.privacy
    return entries[0]


def test_noised_statistics_are_close_to_the_truth_and_reported(net):
    cluster, data, client = net
    before = _spent(client)
    out = client.run("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=EPS, delta=DELTA)
    true = float(np.clip(_cat(data, "bmi"), 15, 40).sum())
    e = _entry(out, "sum")
    assert e["dp"] and e["epsilon"] == EPS and e["delta"] == DELTA
    assert e["mechanism"] == "distributed_discrete_gaussian" and e["colluders_tolerated"] == 1
    assert e["parties"] == 3 and "distributed" in e["mode"]
    assert abs(out.result["sum"] - true) <= SIGMAS * e["noise_scale_all_parties"]
    assert out.result["sum"] != true                # noise was added (P[noise == 0] < 1e-6 on this grid)
    assert all(r["privacy"] == out.privacy for r in out.report.values())   # every party reports the same
    after = _spent(client)
    assert all(after[d] == pytest.approx(before[d] + EPS) for d in after)  # one grant per dataset, each ε

    out = client.run("count", ALL, {"where": {"column": "age", "op": ">=", "value": 60}}, epsilon=EPS,
                     delta=DELTA)
    e = _entry(out, "count")
    assert e["epsilon"] == EPS
    assert abs(out.result["count"] - float((_cat(data, "age") >= 60).sum())) <= SIGMAS * e["noise_scale_all_parties"]
    assert out.result["count"] == round(out.result["count"])          # integer noise on an integer count

    out = client.run("mean", ALL, {"column": "age", "lower": 0, "upper": 120}, epsilon=EPS, delta=DELTA)
    s, c = _entry(out, "sum"), _entry(out, "count")
    assert s["epsilon"] == c["epsilon"] == EPS / 2 and s["delta"] == DELTA / 2   # split over the two releases
    ages = np.clip(_cat(data, "age"), 0, 120)
    assert abs(out.result["sum"] - ages.sum()) <= SIGMAS * s["noise_scale_all_parties"]
    assert abs(out.result["count"] - len(ages)) <= SIGMAS * c["noise_scale_all_parties"]
    assert out.result["mean"] == pytest.approx(out.result["sum"] / out.result["count"])

    out = client.run("histogram", ALL, {"column": "age", "edges": [20, 40, 60, 90]}, epsilon=EPS, delta=DELTA)
    e = _entry(out, "counts")
    expected = np.histogram(np.clip(_cat(data, "age"), 20, 90), bins=[20, 40, 60, 90])[0]
    assert np.all(np.abs(np.array(out.result["counts"]) - expected) <= SIGMAS * e["noise_scale_all_parties"])


def test_watch_streams_the_privacy_report_with_the_final_event(net):
    cluster, data, client = net
    job = client.submit("sum", {0: "patients", 1: "patients"}, {"column": "age", "lower": 0, "upper": 100},
                        epsilon=0.5, delta=DELTA)
    last = client.watch(job)
    assert last["state"] == "done"
    assert [e["output"] for e in last["privacy"]] == ["sum"] and last["privacy"][0]["epsilon"] == 0.5


def test_noise_spread_matches_the_reported_scale(net):
    """Ten noised releases of the same count: their spread is the reported noise scale (loose bounds)."""
    cluster, data, client = net
    values, scale = [], None
    for _ in range(10):
        out = client.run("count", {0: "patients", 1: "patients"}, {}, epsilon=2.0, delta=DELTA)
        values.append(out.result["count"] - 80)
        scale = _entry(out, "count")["noise_scale_all_parties"]
    sd = float(np.sqrt(np.mean(np.square(values))))     # the true count is 80 (2 x 40 rows)
    # 10·sd²/scale² is chi-square with 10 degrees of freedom: outside [0.25, 2] with probability < 5e-5
    assert 0.25 * scale < sd < 2.0 * scale, (values, scale)


def _plan(client, **kw):
    return client.prepare("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=EPS, delta=DELTA, **kw)


def _submit(client, plan, grants):
    return client.submit("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=EPS, delta=DELTA,
                         job_id=plan.job_id, grants=grants)


def _never_ran(client, job_id):
    """No node started the job: it is unknown, or failed in the prepare step with nothing exchanged."""
    out = client.result(job_id, wait=False)
    for party, r in out.report.items():
        assert r["state"] in ("failed", "cancelled"), (party, r)
        assert r["bytes_sent"] == 0 and r["bytes_received"] == 0 and r["rounds"] == 0, (party, r)
    assert out.outputs == {}


def _node_tls(cluster, i):
    c = cluster.root / "certs"
    return TlsFiles(c / f"party-{i}.pem", c / f"party-{i}.key", c / "ca.pem")


def _forge_wrong_key(grant):
    return g.sign(Ed25519PrivateKey.generate(), g.GrantBody.from_bytes(grant.body))


def _flip_signature(grant):
    return g.SignedGrant(grant.body, bytes([grant.signature[0] ^ 1]) + grant.signature[1:])


CASES = {
    # name: (how the grants are spoiled, the error the refusing node names)
    "no grant": (lambda grants, ctx: {0: grants[0], 2: grants[2]}, "carries no budget grant"),
    "forged (wrong key)": (lambda grants, ctx: {**grants, 1: _forge_wrong_key(grants[1])}, "does not verify"),
    "forged (bad signature)": (lambda grants, ctx: {**grants, 0: _flip_signature(grants[0])}, "does not verify"),
    "another job hash": (lambda grants, ctx: {**grants, 2: ctx["other"][2]}, "is for job"),
    "another dataset": (lambda grants, ctx: {**grants, 0: grants[1], 1: grants[0]}, "is for dataset"),
    "reused": (lambda grants, ctx: ctx["used"](grants), "already used"),
    "expired": (None, "expired"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_job_is_refused_before_any_data_is_touched(net, case):
    cluster, data, client = net
    plan = _plan(client)
    assert sorted(plan.grants) == [0, 1, 2] and plan.grants[1] == "party-1/patients" and plan.dp_mode == "distributed"
    spoil, message = CASES[case]
    if case == "expired":
        grants = client.request_grants(plan, ttl=1)
        import time

        time.sleep(1.3)
    else:
        grants = client.request_grants(plan)

        def used(gs):          # the grant was redeemed once already (by party 1, for this very job)
            with BudgetClient(cluster.budget.address, tls=_node_tls(cluster, 1), server_name="budget-service") as b:
                b.redeem(gs[1], plan.spec_hash, "party-1/patients")
            return gs

        other = client.request_grants(_plan(client)) if case == "another job hash" else None
        grants = spoil(grants, {"other": other, "used": used})
    before = _spent(client)
    with pytest.raises(ProtocolAbort, match=message):
        _submit(client, plan, grants)
    _never_ran(client, plan.job_id)
    assert _spent(client) == before          # a refused job requests nothing more


def test_grant_principal_is_bound_to_the_client_certificate(net):
    cluster, data, client = net
    plan = _plan(client)
    c = cluster.root / "certs"
    analyst = TlsFiles(c / "client-analyst.pem", c / "client-analyst.key", c / "ca.pem")
    with BudgetClient(cluster.budget.address, tls=analyst, server_name="budget-service") as b:
        with pytest.raises(GrantRefused, match="only for principals ending in '/analyst'"):
            b.request_grant("local/bob", "party-0/patients", 0.1, 0.0, plan.spec_hash, "sum/v1")
        grant = b.request_grant("local/analyst", "party-0/patients", 0.1, 0.0, plan.spec_hash, "sum/v1")
        with pytest.raises(GrantRefused, match="only node certificates may redeem"):
            b.redeem(grant, plan.spec_hash, "party-0/patients")
    with BudgetClient(cluster.budget.address, tls=_node_tls(cluster, 0), server_name="budget-service") as b:
        with pytest.raises(GrantRefused, match="only client certificates"):
            b.request_grant("local/analyst", "party-0/patients", 0.1, 0.0, plan.spec_hash, "sum/v1")


def test_dp_job_needs_epsilon_and_delta(net):
    cluster, data, client = net
    with pytest.raises(ProtocolAbort, match="epsilon > 0"):
        client.run("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40})
    with pytest.raises(ProtocolAbort, match="needs delta > 0"):
        client.run("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=1.0)
    with pytest.raises(ProtocolAbort, match="declares no outputs"):     # a test protocol without releases
        client.run("net_sum", ALL, {"column": "age"}, epsilon=1.0, delta=DELTA)


def test_cli_run_prints_the_privacy_report(net):
    cluster, data, client = net
    r = subprocess.run([sys.executable, "-m", "mpc", "run", "mean", "--config", str(cluster.client_config),
                        "--input", "0=patients", "--input", "1=patients", "--params",
                        '{"column": "age", "lower": 0, "upper": 120}', "--epsilon", "2", "--delta", "1e-5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    i = lines.index("privacy:")
    assert lines[i + 1].strip().startswith("sum: epsilon 1, delta 5e-06, distributed_discrete_gaussian, noise scale")
    assert lines[i + 2].strip().startswith("count: epsilon 1,") and "1 colluding party" in lines[i + 2]
    assert "expected error: noise sd" in lines[i + 1] and "of the value's scale" in lines[i + 1]
    assert re.match(r"mean \(from sum, count\): expected error: noise sd [\d.]+ = [\d.]+% of the value's scale 120 "
                    r"\(public bound \(upper - lower\)\)", lines[i + 3].strip()), lines[i + 3]
    assert "WARNING" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "mpc", "run", "count", "--config", str(cluster.client_config),
                        "--input", "2=patients", "--epsilon", "1", "--delta", "1e-5", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["privacy"][0]["output"] == "count" and out["report"]["2"]["privacy"] == out["privacy"]


def test_noise_that_swamps_the_answer_is_reported_and_warned_about(net):
    """80 rows, bounds [100, 101]: the sum's sensitivity is 101 but the mean's range is 1, so the mean's noise
    (sd about 17) swamps it. The report says so (noise_std, relative_noise against the public range) and
    `mpc run` prints a warning."""
    cluster, data, client = net
    params = {"column": "age", "lower": 100, "upper": 101}
    out = client.run("mean", {0: "patients", 1: "patients"}, params, epsilon=EPS, delta=DELTA)
    s, c, mean = _entry(out, "sum"), _entry(out, "count"), _entry(out, "mean")
    assert s["noise_std"] == s["noise_scale_all_parties"] and s["scale_source"] == "released value"
    assert s["relative_noise"] == pytest.approx(s["noise_std"] / s["scale"])
    assert mean["derived_from"] == ["sum", "count"] and mean["scale"] == 1
    expected = (s["noise_std"] ** 2 + (out.result["mean"] * c["noise_std"]) ** 2) ** 0.5 / max(out.result["count"], 1)
    assert mean["noise_std"] == pytest.approx(expected) and mean["relative_noise"] > 1
    r = subprocess.run([sys.executable, "-m", "mpc", "run", "mean", "--config", str(cluster.client_config),
                        "--input", "0=patients", "--input", "1=patients", "--params", json.dumps(params),
                        "--epsilon", "1", "--delta", "1e-5"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"WARNING: the noise on mean \(sd [\d.e+]+\) exceeds the value's scale \(1, public bound", r.stderr)


@pytest.mark.slow
def test_replayed_job_after_node_restart_cannot_spend_its_grants_twice(net):
    """Nodes forget jobs when they restart; the service's single-use ledger still refuses the replay."""
    cluster, data, client = net
    plan = _plan(client)
    grants = client.request_grants(plan)
    _submit(client, plan, grants)
    assert client.watch(plan.job_id)["state"] == "done"
    cluster.stop([0, 1, 2])
    cluster.start()
    cluster.wait_ready()
    with pytest.raises(ProtocolAbort, match="already used"):
        _submit(client, plan, grants)
    _never_ran(client, plan.job_id)
    assert cluster.budget.verify().ok


# ------------------------------------------------------------------ two-phase budget: no ε for jobs that release nothing

def _job_rows(cluster, job_hash: str) -> list[dict]:
    from dp.budget.ledger import Ledger

    with Ledger(cluster.budget.db) as led:
        return [r for r in led.rows() if r["job_hash"] == job_hash]


def _wait_rows(cluster, job_hash: str, kind: str, count: int, timeout: float = 20.0) -> list[dict]:
    """The job's ledger rows once `count` rows of `kind` are there (the nodes release in the background)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        rows = _job_rows(cluster, job_hash)
        if sum(r["kind"] == kind for r in rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _by_dataset(rows, kind):
    return {r["dataset"]: r for r in rows if r["kind"] == kind}


def test_a_column_typo_is_refused_before_anything_is_reserved(net):
    cluster, data, client = net
    before = _spent(client)
    with pytest.raises(ProtocolAbort, match=r"has no column.*'agee'"):
        client.run("mean", ALL, {"column": "agee", "lower": 0, "upper": 120}, epsilon=EPS, delta=DELTA)
    assert _spent(client) == before
    assert cluster.budget.verify().ok


def test_a_column_typo_found_at_the_peers_releases_the_reservations(net):
    """The coordinator (node 0) contributes no data, so the typo is found at parties 1 and 2 in the prepare step,
    after the client reserved their grants: the client releases both, nothing is charged."""
    cluster, data, client = net
    inputs, params = {1: "patients", 2: "patients"}, {"column": "agee", "lower": 0, "upper": 120}
    plan = client.prepare("mean", inputs, params, epsilon=EPS, delta=DELTA)
    before = _spent(client)
    with pytest.raises(ProtocolAbort, match=r"party [12].*has no column.*'agee'"):
        client.run("mean", inputs, params, epsilon=EPS, delta=DELTA, job_id=plan.job_id)
    assert _spent(client) == before
    rows = _job_rows(cluster, plan.spec_hash)
    assert set(_by_dataset(rows, "reserve")) == set(_by_dataset(rows, "release")) == {"party-1/patients",
                                                                                      "party-2/patients"}
    assert all(r["epsilon"] == EPS for r in _by_dataset(rows, "release").values())
    assert not any(r["kind"] in ("redeem", "commit") for r in rows)
    assert cluster.budget.verify().ok


def test_a_partial_refusal_releases_the_other_reservations(net):
    cluster, data, client = net
    spent = _spent(client)

    def held():     # earlier tests leave some reservations open (grants given explicitly are the caller's)
        return {d: levels[0]["total_reserved"] for d, levels in client.budget_status(list(spent)).items()}

    before = held()
    cluster.budget.set_budget("local", "party-2/patients", spent["party-2/patients"] + 0.5, delta_total=0.01)
    try:
        plan = client.prepare("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=EPS, delta=DELTA)
        with pytest.raises(BudgetExceeded, match="party-2/patients"):
            client.run("sum", ALL, {"column": "bmi", "lower": 15, "upper": 40}, epsilon=EPS, delta=DELTA,
                       job_id=plan.job_id)
        assert _spent(client) == spent
        assert held() == pytest.approx(before, abs=1e-12)
        rows = _job_rows(cluster, plan.spec_hash)
        assert set(_by_dataset(rows, "reserve")) == set(_by_dataset(rows, "release")) == {"party-0/patients",
                                                                                          "party-1/patients"}
        assert [r["dataset"] for r in rows if r["kind"] == "refusal"] == ["party-2/patients"]
    finally:
        cluster.budget.set_budget("local", "party-2/patients", TOTAL, delta_total=0.01)


@pytest.mark.parametrize("fail_at, charged", [(0, 0.0), (1, EPS / 2)])
def test_a_job_failing_inside_is_charged_only_for_released_outputs(net, fail_at, charged):
    """net_fail declares two outputs; every party fails before output `fail_at`. The nodes (not the client:
    submit + watch) commit before each output opens and release the rest when the job fails."""
    cluster, data, client = net
    before = _spent(client)
    plan = client.prepare("net_fail", ALL, {"column": "age", "fail_at": fail_at}, epsilon=EPS, delta=DELTA)
    grants = client.request_grants(plan)
    client.submit("net_fail", ALL, {"column": "age", "fail_at": fail_at}, epsilon=EPS, delta=DELTA,
                  job_id=plan.job_id, grants=grants)
    last = client.watch(plan.job_id)
    assert last["state"] == "failed" and "injected failure" in last["error"]
    rows = _wait_rows(cluster, plan.spec_hash, "release", 3)
    assert sorted(_by_dataset(rows, "release")) == sorted(_by_dataset(rows, "redeem")) == sorted(before)
    commits = [r for r in rows if r["kind"] == "commit"]
    assert len(commits) == (3 if fail_at == 1 else 0)
    assert all(json.loads(r["detail"])["output"] == "first" for r in commits)
    assert all(r["epsilon"] == pytest.approx(EPS - charged) for r in _by_dataset(rows, "release").values())
    after = _spent(client)
    assert all(after[d] == pytest.approx(before[d] + charged, abs=1e-12) for d in before)
    assert cluster.budget.verify().ok


def test_a_peer_down_at_submit_charges_nothing(net):
    cluster, data, client = net
    before = _spent(client)
    params = {"column": "bmi", "lower": 15, "upper": 40}
    cluster.stop([2])
    try:
        plan = client.prepare("sum", ALL, params, epsilon=EPS, delta=DELTA, timeout_s=2.0)
        with pytest.raises(ProtocolAbort, match="party 2"):
            client.run("sum", ALL, params, epsilon=EPS, delta=DELTA, timeout_s=2.0, job_id=plan.job_id)
        rows = _wait_rows(cluster, plan.spec_hash, "release", 3)
        assert sorted(_by_dataset(rows, "reserve")) == sorted(_by_dataset(rows, "release")) == sorted(before)
        assert "commit" not in [r["kind"] for r in rows]
        assert _spent(client) == before
    finally:
        cluster.start([2])
        cluster.wait_ready(ids=[2])
    assert cluster.budget.verify().ok
