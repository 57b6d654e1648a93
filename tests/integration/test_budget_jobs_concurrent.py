"""100 concurrent DP jobs against the real budget service, with failures injected before and after the
first release: the spent epsilon equals the sum over the outputs that were released, exactly.

What runs for real: the budget service (`BudgetService` over gRPC with mutual TLS and principal
binding, on its SQLite ledger), each node's DP admission (`mpc.node.grants.Admission`: grant
verified, redeemed with the node's own certificate, commit before every release, release at the
end), the DP gate and the `mean` protocol (two releases: sum and count) on real sessions. What is
simplified: the three parties of a job talk over the in-process network and the node manager is
not involved (the manager's part — release when the job is final — is covered through real node
processes in test_node_dp.py). Everything runs in one event loop, so the 100 jobs really overlap
at the service.

Failures: a client that vanishes after reserving (never submits), a party refusing the job at
prepare after the others redeemed, every party failing before the first release, every party
failing after the first release, and no failure. A job failing between one party's commit and
the opening over-charges by design (safe direction); that case is checked on its own: never
under-charged.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time

import numpy as np
import pytest

from dp.budget.grants import GrantBody
from dp.budget.ledger import Ledger
from dp.budget.service import BudgetService, TlsFiles, build_server
from mpc.errors import ProtocolAbort
from mpc.net.local import LocalNetwork
from mpc.node.config import load_node_config
from mpc.node.grants import Admission
from mpc.node.jobs import JobSpec
from mpc.node.localcluster import write_cluster
from mpc.protocols import default_registry
from mpc.protocols.registry import JobContext
from mpc.runtime import Session

pytestmark = pytest.mark.integration

EPS, DELTA = 0.2, 1e-6
MEAN = default_registry().get("mean")
PARAMS = MEAN.check_params({"column": "x", "lower": 0.0, "upper": 10.0})
PARTIES = (0, 1, 2)
DATASETS = [f"party-{p}/patients" for p in PARTIES]


class Injected(ProtocolAbort):
    """The failure a test injects into a job."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("concurrent")
    csv = root / "x.csv"
    csv.write_text("x\n" + "\n".join(str(v % 10) for v in range(50)) + "\n")
    ds = {p: {"patients": {"path": csv, "columns": {"x": "float"}, "allow": ["mean"]}} for p in PARTIES}
    cluster = write_cluster(root, 3, dealer=False, datasets=ds, budget=True)
    b = cluster.budget
    for d in DATASETS:
        b.set_budget("local", d, 1000.0, delta_total=0.5)
    c = cluster.root / "certs"
    from dp.budget.grants import load_or_create_key

    service = BudgetService(b.db, load_or_create_key(b.key), bind_principal=True)
    server, _, _ = build_server(service, b.address, tls=TlsFiles(c / "budget-service.pem", c / "budget-service.key",
                                                                   c / "ca.pem"), max_workers=8)
    server.start()
    admissions = {p: Admission(load_node_config(cluster.node_configs[p])) for p in PARTIES}
    client = b.client("analyst", timeout=60)
    try:
        yield cluster, admissions, client
    finally:
        client.close()
        for a in admissions.values():
            a.close()
        server.stop(0).wait()


async def _run_job(j: int, mode: str, admissions, client, data, *, timeout: float = 20.0) -> dict:
    """One job; returns {released: outputs opened at the output party, grants: {party: grant id}}."""
    job_hash = hashlib.sha256(f"job {j} {time.time_ns()}".encode()).digest()
    spec = JobSpec(job_id=f"job-{j}", protocol="mean", version=1, params=PARAMS,
                   inputs={p: "patients" for p in PARTIES}, parties=PARTIES, output_to=(0,), dealer=None,
                   threshold=1, timeout_s=timeout, coordinator=0, dp_mode="distributed", epsilon=EPS, delta=DELTA)
    ttl = 1 if mode == "vanish" else 600
    grants = await asyncio.gather(*(asyncio.to_thread(client.request_grant, "local/analyst", d, EPS, DELTA,
                                                      job_hash, "mean/v1", ttl) for d in DATASETS))
    ids = {p: GrantBody.from_bytes(g.body).grant_id for p, g in zip(PARTIES, grants)}
    out = {"released": 0, "grants": ids}
    if mode == "vanish":                 # the client never submits: the reservations expire
        return out
    refusing = 2 if mode == "refused" else None
    releases = {}
    try:
        for p in PARTIES:                # the prepare step, party by party as the coordinator does
            if p == refusing:
                raise Injected(f"job {spec.job_id}: party {p} refuses it at prepare")
            releases[p] = await admissions[p].admit(spec, MEAN, PARAMS, job_hash, grants[p].to_json())
    except Injected:
        for rel in releases.values():    # the parties that prepared abort and release their reservations ...
            await rel.settle("job refused at prepare")
        for p, g in zip(PARTIES, grants):    # ... and the client releases every grant it got
            await asyncio.to_thread(client.release, ids[p], job_hash, reason="not submitted")
        return out
    fail_before = {"fail0": 0, "fail1": 1}.get(mode)
    net = LocalNetwork(3)

    async def party(p: int):
        session = Session(net.endpoint(p), job=spec.job_id, parties=list(PARTIES), threshold=1, timeout=timeout)
        gate = releases[p].function(session, spec.output_to)
        count = 0

        async def release(x, rspec):
            nonlocal count
            if count == fail_before:
                raise Injected(f"injected failure before release {count}")
            value = await gate(x, rspec)
            count += 1
            if value is not None:
                out["released"] += 1
            return value

        try:
            await session.setup()
            ctx = JobContext(session=session, params=PARAMS, data=data, contributors=PARTIES, output_to=(0,),
                             release=release)
            await MEAN.run(ctx)
            await session.close()
        except Injected:
            await net.endpoint(p).close()
        finally:
            await releases[p].settle(f"job {mode}")      # what the node manager does once the job is final

    await asyncio.gather(*(party(p) for p in PARTIES))
    return out


def _charged(rows) -> dict[str, float]:
    """Grant id -> ε charged by its commit rows."""
    out: dict[str, float] = {}
    for r in rows:
        if r["kind"] == "commit":
            out[r["grant_id"]] = out.get(r["grant_id"], 0.0) + r["epsilon"]
    return out


def _spent(client) -> dict[str, float]:
    return {d: next(lv["total_spent"] for lv in client.status("local/analyst", d) if lv["dataset"] == d)
            for d in DATASETS}


def test_hundred_concurrent_jobs_spend_exactly_what_their_released_outputs_cost(world):
    cluster, admissions, client = world
    rng = random.Random(10)          # which failure each job gets: test scheduling, not a secret
    modes = [rng.choice(["ok", "ok", "fail0", "fail1", "vanish", "refused"]) for _ in range(100)]
    data = {"x": np.arange(50, dtype=np.float64) % 10}
    before = _spent(client)

    async def main():
        return await asyncio.gather(*(_run_job(j, m, admissions, client, data) for j, m in enumerate(modes)))

    jobs = asyncio.run(main())
    time.sleep(1.1)                                      # the vanished clients' grants expire ...
    cluster.budget.set_budget("elsewhere", "ds", 1.0)    # ... and the next write records it
    with Ledger(cluster.budget.db) as led:
        rows, reservations, verified = led.rows(), led.reservations(), led.verify()
    assert verified.ok, verified.summary()
    released = sum(j["released"] for j in jobs)
    assert released == 2 * modes.count("ok") + modes.count("fail1")
    per_output = EPS / len(MEAN.releases(PARAMS))
    after = _spent(client)
    for d in DATASETS:                                   # every dataset paid for every released output, no more
        assert after[d] - before[d] == pytest.approx(released * per_output, rel=1e-12, abs=1e-12), d
    charged = _charged(rows)
    for j, mode in zip(jobs, modes):                     # and job by job
        expect = {"ok": EPS, "fail1": per_output}.get(mode, 0.0)
        for gid in j["grants"].values():
            assert charged.get(gid, 0.0) == pytest.approx(expect, abs=1e-12), (mode, gid)
    mine = {g for j in jobs for g in j["grants"].values()}
    states = {r["grant_id"]: r["state"] for r in reservations if r["grant_id"] in mine}
    assert "open" not in states.values()                 # every reservation was finished
    kinds = {}
    for r in rows:
        if r["grant_id"] in mine:
            kinds.setdefault(r["grant_id"], []).append(r["kind"])
    for j, mode in zip(jobs, modes):
        for gid in j["grants"].values():
            k = kinds[gid]
            assert k[0] == "reserve" and (k[-1] in ("release", "expire") or (mode == "ok" and k[-1] == "commit")), k
            if mode == "vanish":
                assert k == ["reserve", "expire"]


def test_a_party_dying_after_its_commit_over_charges_but_never_under_charges(world):
    """Party 1 fails just before its second release; parties 0 and 2 commit the second output and wait for
    party 1's share, which never comes: the output does not open, yet their datasets were charged for it."""
    cluster, admissions, client = world
    data = {"x": np.arange(50, dtype=np.float64) % 10}
    before = _spent(client)

    async def one():
        job_hash = hashlib.sha256(f"crash {time.time_ns()}".encode()).digest()
        spec = JobSpec(job_id="job-crash", protocol="mean", version=1, params=PARAMS,
                       inputs={p: "patients" for p in PARTIES}, parties=PARTIES, output_to=(0,), dealer=None,
                       threshold=1, timeout_s=3.0, coordinator=0, dp_mode="distributed", epsilon=EPS, delta=DELTA)
        grants = [await asyncio.to_thread(client.request_grant, "local/analyst", d, EPS, DELTA, job_hash, "mean/v1")
                  for d in DATASETS]
        releases = {p: await admissions[p].admit(spec, MEAN, PARAMS, job_hash, grants[p].to_json()) for p in PARTIES}
        net, opened = LocalNetwork(3), []

        async def party(p):
            session = Session(net.endpoint(p), job=spec.job_id, parties=list(PARTIES), threshold=1, timeout=3.0)
            gate, count = releases[p].function(session, (0,)), 0

            async def release(x, rspec):
                nonlocal count
                if p == 1 and count == 1:
                    raise Injected("party 1 dies before its second release")
                value = await gate(x, rspec)
                count += 1
                if value is not None:
                    opened.append(rspec.name)
                return value

            try:
                await session.setup()
                await MEAN.run(JobContext(session=session, params=PARAMS, data=data, contributors=PARTIES,
                                          output_to=(0,), release=release))
            except ProtocolAbort:
                await net.endpoint(p).close()
            finally:
                await releases[p].settle("job failed")

        await asyncio.gather(*(party(p) for p in PARTIES))
        return opened

    opened = asyncio.run(one())
    assert opened == ["sum"]
    after = _spent(client)
    share = EPS / 2
    assert after["party-1/patients"] - before["party-1/patients"] == pytest.approx(share)   # exactly what opened
    for d in ("party-0/patients", "party-2/patients"):      # at least what opened; at most one share more
        assert share - 1e-12 <= after[d] - before[d] <= 2 * share + 1e-12
