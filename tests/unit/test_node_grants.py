"""The node's DP admission without processes: modes, spec checks, grant verification and redemption
(with an in-memory stand-in for the budget service), and the release objects it returns."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.budget import grants as g
from dp.errors import GrantExpired, GrantForged, GrantMismatch, GrantMissing, GrantReused
from mpc.errors import ParameterError
from mpc.node.config import load_client_config, load_node_config
from mpc.node.grants import Admission, budget_dataset, colluders, grants_needed
from mpc.node.jobs import JobSpec
from mpc.node.localcluster import write_cluster
from mpc.node.release import ExactRelease, GatedRelease, describe
from mpc.protocols import default_registry

REG = default_registry()
SUM, PSI = REG.get("sum"), REG.get("psi")
PARAMS = SUM.check_params({"column": "x", "lower": 0.0, "upper": 1.0})
HASH = hashlib.sha256(b"the job").digest()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("grants")
    data = root / "d.csv"
    data.write_text("x,pid\n0.5,1\n")
    ds = {i: {"patients": {"path": data, "columns": {"x": "float", "pid": "int"}, "allow": ["sum", "psi"]}}
          for i in range(3)}
    return write_cluster(root, 3, datasets=ds, ports=[5101, 5102, 5103, 5104], budget=True)


def _spec(mode="distributed", eps=1.0, delta=1e-5, inputs=None, output_to=(0, 1, 2)):
    return JobSpec(job_id="job-1", protocol="sum", version=1, params=PARAMS,
                   inputs={0: "patients", 1: "patients"} if inputs is None else inputs, parties=(0, 1, 2),
                   output_to=output_to, dealer=None, threshold=1, timeout_s=10.0, coordinator=0, dp_mode=mode,
                   epsilon=eps, delta=delta)


class FakeService:
    """Stands in for the budget service: single use by grant id; commits and releases recorded."""

    def __init__(self):
        self.redeemed = []
        self.calls = []

    def redeem(self, grant, job_hash, dataset, job_id=""):
        gid = g.GrantBody.from_bytes(grant.body).grant_id
        if gid in self.redeemed:
            raise GrantReused(f"grant {gid} was already used")
        self.redeemed.append(gid)
        return gid, len(self.redeemed)

    def commit(self, grant_id, job_hash, epsilon, delta, *, output="", job_id=""):
        self.calls.append(("commit", grant_id, epsilon, delta, output, job_id))
        return {"ledger_seq": len(self.calls), "committed_epsilon": epsilon, "committed_delta": delta,
                "closed": False}

    def release(self, grant_id, job_hash, *, reason="", job_id=""):
        self.calls.append(("release", grant_id, reason, job_id))
        return {"ledger_seq": len(self.calls), "refunded_epsilon": 0.0, "refunded_delta": 0.0, "state": "released"}


def _admission(cluster, party=0, **kw):
    adm = Admission(load_node_config(cluster.node_configs[party]), **kw)
    service = FakeService()
    adm._budget = lambda: service
    return adm, service


def _key(cluster):
    return g.load_or_create_key(cluster.budget.key)


def _grant(cluster, dataset="party-0/patients", eps=1.0, delta=1e-5, job=HASH, ttl=60.0, key=None):
    now = time.time()
    key = key or _key(cluster)
    body = g.GrantBody(f"g-{dataset}-{now}", "local/analyst", dataset, eps, delta, job.hex(), "sum/v1", now,
                       now + ttl, g.key_id(g.public_bytes(key)))
    return g.sign(key, body).to_json()


def test_names_and_colluders():
    assert budget_dataset(2, "patients") == "party-2/patients"
    assert colluders(_spec()) == 1
    assert colluders(JobSpec(**{**_spec().__dict__, "parties": (0, 1), "output_to": (0,), "threshold": 0})) == 1
    assert grants_needed(_spec()) == {0: "party-0/patients", 1: "party-1/patients"}
    assert grants_needed(_spec(mode="off")) == {} and grants_needed(_spec(mode="exempt")) == {}


def test_modes(cluster):
    cfg = load_node_config(cluster.node_configs[0])
    assert cfg.budget.mode == "distributed" and cfg.budget.server_name == "budget-service"
    assert Admission(cfg).mode_for(SUM) == "distributed" and Admission(cfg).mode_for(PSI) == "exempt"
    assert Admission(cfg, no_dp=True).mode_for(SUM) == "off"
    bare = Admission(cfg.__class__(**{**cfg.__dict__, "budget": None}))
    with pytest.raises(ParameterError, match=r"party 0: protocol sum .* no \[budget\] section.*--no-dp"):
        bare.mode_for(SUM)
    assert bare.mode_for(PSI) == "exempt"
    client = load_client_config(cluster.client_config)
    assert client.budget.principal == "local/analyst" and client.budget.address == cluster.budget.address


def test_spec_checks(cluster):
    adm, _ = _admission(cluster)
    adm.check(_spec(), SUM)
    with pytest.raises(ParameterError, match="releases its outputs as 'off'"):
        adm.check(_spec(mode="off"), SUM)
    with pytest.raises(ParameterError, match="epsilon > 0"):
        adm.check(_spec(eps=0.0), SUM)
    with pytest.raises(ParameterError, match="needs delta > 0"):
        adm.check(_spec(delta=0.0), SUM)
    dealer = Admission(load_node_config(cluster.node_configs[3]))
    dealer.check(_spec(mode="off"), SUM)            # the dealer holds no data and opens nothing
    assert asyncio.run(dealer.admit(_spec(), SUM, PARAMS, HASH)) is None


def test_central_mode_needs_one_output_party(cluster, tmp_path):
    path = tmp_path / "central.toml"
    path.write_text(cluster.node_configs[0].read_text().replace('mode = "distributed"', 'mode = "central"'))
    adm = Admission(load_node_config(path))
    adm.check(_spec(mode="central", output_to=(0,)), SUM)
    with pytest.raises(ParameterError, match="exactly one output party"):
        adm.check(_spec(mode="central"), SUM)
    path.write_text(cluster.node_configs[0].read_text().replace('mode = "distributed"', 'mode = "loud"'))
    with pytest.raises(ParameterError, match="mode must be one of"):
        load_node_config(path)


def test_admit_verifies_then_redeems_once(cluster):
    adm, service = _admission(cluster)
    grant = _grant(cluster)
    rel = asyncio.run(adm.admit(_spec(), SUM, PARAMS, HASH, grant))
    assert isinstance(rel, GatedRelease) and len(service.redeemed) == 1
    assert rel.gate.epsilon == 1.0 and rel.gate.colluders == 1 and rel.gate.grant.dataset == "party-0/patients"
    gid = service.redeemed[0]
    asyncio.run(rel.gate.commit(1.0, 1e-5, "sum"))          # what the gate does before the release opens
    asyncio.run(rel.settle("job done"))                     # what the manager does when the job is final
    assert service.calls == [("commit", gid, 1.0, 1e-5, "sum", "job-1"), ("release", gid, "job done", "job-1")]
    with pytest.raises(GrantReused, match="job job-1: party 0 refuses the grant for 'party-0/patients'"):
        asyncio.run(adm.admit(_spec(), SUM, PARAMS, HASH, grant))


@pytest.mark.parametrize("case, error, match", [
    ("missing", GrantMissing, "carries no budget grant"),
    ("wrong key", GrantForged, "does not verify"),
    ("expired", GrantExpired, "expired"),
    ("other job", GrantMismatch, "is for job"),
    ("other dataset", GrantMismatch, "is for dataset 'party-1/patients'"),
    ("too little epsilon", GrantMismatch, "needs epsilon=1.0"),
])
def test_bad_grants_are_refused_before_redemption(cluster, case, error, match):
    adm, service = _admission(cluster)
    grant = {"missing": "", "wrong key": _grant(cluster, key=Ed25519PrivateKey.generate()),
             "expired": _grant(cluster, ttl=-1.0), "other job": _grant(cluster, job=hashlib.sha256(b"x").digest()),
             "other dataset": _grant(cluster, dataset="party-1/patients"),
             "too little epsilon": _grant(cluster, eps=0.5)}[case]
    with pytest.raises(error, match=match):
        asyncio.run(adm.admit(_spec(), SUM, PARAMS, HASH, grant))
    assert service.redeemed == []            # nothing was redeemed: the grant never reached the service


def test_gate_spends_the_jobs_epsilon_even_if_the_grant_allows_more(cluster):
    adm, _ = _admission(cluster)
    rel = asyncio.run(adm.admit(_spec(eps=0.5), SUM, PARAMS, HASH, _grant(cluster, eps=2.0)))
    assert rel.gate.epsilon == 0.5 and rel.gate.epsilon_each == 0.5


def test_parties_without_data_noise_without_a_grant_and_refuse_one(cluster):
    adm, service = _admission(cluster, party=2)
    rel = asyncio.run(adm.admit(_spec(), SUM, PARAMS, HASH))
    assert isinstance(rel, GatedRelease) and rel.gate.grant is None and service.redeemed == []
    with pytest.raises(ParameterError, match="contributes no dataset"):
        asyncio.run(adm.admit(_spec(), SUM, PARAMS, HASH, _grant(cluster, dataset="party-2/patients")))


def test_exact_releases_say_why(cluster):
    adm, _ = _admission(cluster, no_dp=True)
    rel = asyncio.run(adm.admit(_spec(mode="off"), SUM, PARAMS, HASH))
    assert isinstance(rel, ExactRelease)
    assert rel.report == [{"output": "sum", "dp": False, "note": rel.note}] and "NOT differentially" in rel.note
    psi = asyncio.run(adm.admit(_spec(mode="exempt"), PSI, {}, HASH))
    assert psi.report[0]["note"].startswith("exact output (not DP): exact set membership")
    assert describe(psi.report[0]).startswith("psi result: exact output (not DP)")


def test_certs_init_budget_gives_the_service_a_server_certificate(tmp_path, capsys):
    from mpc.cli import main
    from mpc.net import tls

    assert main(["certs", "init", "--parties", "2", "--budget", "--out", str(tmp_path)]) == 0
    ident = tls.identity_of((tmp_path / "budget-service.pem").read_bytes())
    assert ident.name == tls.BUDGET_SERVICE_NAME and ident.is_node and ident.party_id is None
    assert (tmp_path / "budget-service.key").stat().st_mode & 0o077 == 0
    assert tls.principal_name(ident) is None             # a server certificate is no analyst
    analyst = tls.identity_of((tmp_path / "client-analyst.pem").read_bytes())
    assert tls.principal_name(analyst) == "analyst"
    assert tls.principal_name(tls.identity_of((tmp_path / "party-0.pem").read_bytes())) is None
