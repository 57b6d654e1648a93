"""The DP gate on real sessions (in-process network): grants checked before data, noised releases,
report entries, central mode."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.budget import grants as g
from dp.errors import DPParameterError, GrantExpired, GrantForged, GrantMismatch, GrantReused
from dp.release import ReleaseGate
from mpc.protocols import default_registry
from mpc.protocols.local import run_protocol_local

JOB = hashlib.sha256(b"sum job").hexdigest()
KEY = Ed25519PrivateKey.generate()
PUB = g.public_bytes(KEY)


def _grant(dataset: str, eps=1.0, delta=1e-5, job=JOB, ttl=60.0, key=KEY) -> g.SignedGrant:
    now = time.time()
    return g.sign(key, g.GrantBody(f"id-{dataset}-{now}", "acme/p/a", dataset, eps, delta, job, "sum/v1", now,
                                   now + ttl, g.key_id(PUB)))


def _run_sum(data, params, mode="distributed", grants=None):
    proto = default_registry().get("sum")
    releases = proto.releases(proto.check_params(params))
    gates = {}

    def factory(output_to):
        async def release(x, spec):
            pid = x.session.pid
            if pid not in gates:
                grant = (grants or {}).get(pid) or _grant(f"ds{pid}")
                gates[pid] = ReleaseGate.admit(grant, PUB, job_hash=JOB, dataset=f"ds{pid}", epsilon=1.0,
                                               delta=1e-5, releases=releases, mode=mode)
            return await gates[pid].release_for(output_to)(x, spec)
        return release

    return run_protocol_local("sum", data, params, parties=len(data), release_factory=factory), gates


def test_distributed_release_noises_the_sum_and_reports():
    data = {i: {"x": np.full(50, float(i + 1))} for i in range(3)}
    outs, gates = _run_sum(data, {"column": "x", "lower": 0.0, "upper": 4.0})
    true = 50 * (1 + 2 + 3)
    assert outs[1] is None and outs[2] is None
    entry = gates[0].report[0]
    assert entry["mechanism"] == "distributed_discrete_gaussian" and entry["epsilon"] == 1.0
    assert entry["colluders_tolerated"] == 1 and entry["parties"] == 3
    assert abs(outs[0]["sum"] - true) < 8 * entry["noise_scale_all_parties"]
    assert outs[0]["sum"] != true  # noise was added (P[noise == 0] < 1e-5 at this scale)
    assert all(gates[p].report[0]["noise_scale"] == entry["noise_scale"] for p in gates)


def test_noise_reaches_the_output_with_the_planned_spread():
    data = {i: {"x": np.zeros(5)} for i in range(2)}
    sums, scale = [], None
    for _ in range(40):
        outs, gates = _run_sum(data, {"column": "x", "lower": 0.0, "upper": 1.0})
        sums.append(outs[0]["sum"])
        scale = gates[0].report[0]["noise_scale_all_parties"]
    sd = float(np.std(sums))
    assert 0.6 * scale < sd < 1.5 * scale


def test_central_mode_is_labelled_weaker():
    data = {i: {"x": np.full(10, 1.0)} for i in range(2)}
    outs, gates = _run_sum(data, {"column": "x", "lower": 0.0, "upper": 1.0}, mode="central")
    entry = gates[0].report[0]
    assert entry["mechanism"] == "discrete_gaussian" and "raw value" in entry["mode"]
    assert abs(outs[0]["sum"] - 20.0) < 10 * entry["noise_scale"]


def test_grant_is_checked_before_any_data_is_touched():
    proto = default_registry().get("sum")
    releases = proto.releases(proto.check_params({"column": "x", "lower": 0.0, "upper": 1.0}))
    kw = dict(job_hash=JOB, dataset="ds0", epsilon=1.0, delta=1e-5, releases=releases)
    with pytest.raises(GrantMismatch):
        ReleaseGate.admit(_grant("ds0", job=hashlib.sha256(b"other").hexdigest()), PUB, **kw)
    with pytest.raises(GrantMismatch):
        ReleaseGate.admit(_grant("ds9"), PUB, **kw)
    with pytest.raises(GrantMismatch):
        ReleaseGate.admit(_grant("ds0", eps=0.5), PUB, **kw)
    with pytest.raises(GrantExpired):
        ReleaseGate.admit(_grant("ds0", ttl=-1.0), PUB, **kw)
    with pytest.raises(GrantForged):
        ReleaseGate.admit(_grant("ds0", key=Ed25519PrivateKey.generate()), PUB, **kw)


def test_each_release_is_committed_cumulatively_before_it_opens():
    """mean: two releases; every contributing party commits ε/2 then ε (cumulative) before each opening,
    and a party whose commit fails opens nothing: the output never reaches the output party."""
    proto = default_registry().get("mean")
    params = {"column": "x", "lower": 0.0, "upper": 10.0}
    releases = proto.releases(proto.check_params(params))
    data = {i: {"x": np.full(30, 5.0)} for i in range(2)}

    def run(fail_party=None, epsilon=1.0, calls=None):
        calls, gates = [] if calls is None else calls, {}

        def factory(output_to):
            async def release(x, spec):
                pid = x.session.pid
                if pid not in gates:
                    async def commit(eps, delta, output, pid=pid):
                        calls.append((pid, eps, delta, output))
                        if pid == fail_party:
                            raise GrantReused("the reservation was released")

                    gates[pid] = ReleaseGate.admit(_grant(f"ds{pid}"), PUB, job_hash=JOB, dataset=f"ds{pid}",
                                                   epsilon=epsilon, delta=1e-5, releases=releases, commit=commit)
                return await gates[pid].release_for(output_to)(x, spec)
            return release

        return run_protocol_local("mean", data, params, parties=2, release_factory=factory, timeout=5), calls

    outs, calls = run()
    assert sorted(calls) == [(p, e, d, o) for p in (0, 1) for e, d, o in ((0.5, 5e-6, "sum"), (1.0, 1e-5, "count"))]
    assert outs[0]["count"] != 60.0 and abs(outs[0]["mean"] - 5.0) < 5
    with pytest.raises(GrantReused):
        run(fail_party=1)
    calls = []
    with pytest.raises(DPParameterError, match="sigma"):      # noise too large to plan: refused before any commit
        run(epsilon=1e-4, calls=calls)
    assert calls == []


def test_undeclared_or_extra_release_is_refused():
    import asyncio

    from mpc.protocols.registry import ReleaseSpec

    proto = default_registry().get("sum")
    releases = proto.releases(proto.check_params({"column": "x", "lower": 0.0, "upper": 1.0}))
    gate = ReleaseGate.admit(_grant("ds0"), PUB, job_hash=JOB, dataset="ds0", epsilon=1.0, delta=1e-5,
                             releases=releases)
    with pytest.raises(GrantMismatch, match="not covered"):
        asyncio.run(gate.release_for((0,))(None, ReleaseSpec("secret_extra", l1=1.0)))


@pytest.mark.parametrize("scheme", ["shamir", "additive"])
def test_release_distributed_on_both_sharing_schemes(scheme):
    from dp.release import release_distributed
    from mpc.protocols.registry import ReleaseSpec
    from mpc.runtime import run_local

    async def program(s):
        x = await s.input(0, np.array([5.0, -2.0]) if s.pid == 0 else None, shape=(2,), kind="fxp",
                          scheme=scheme, bound=10.0)
        return await release_distributed(s, x, ReleaseSpec("v", l2=0.01), epsilon=1.0, delta=1e-5, to=[0])

    results = run_local(3, program, triples=None)
    (value, entry), (other, _) = results[0], results[1]
    assert other is None and entry["parties"] == 3
    assert np.all(np.abs(value - np.array([5.0, -2.0])) < 10 * entry["noise_scale_all_parties"])
    assert not np.array_equal(value, np.array([5.0, -2.0]))
