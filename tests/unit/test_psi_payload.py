"""PSI payload shares: aligned at both parties, reconstruct to the joined rows, hide the join."""

from __future__ import annotations

import numpy as np
import pytest

from mpc.arith import RING
from mpc.errors import ParameterError
from mpc.psi import PayloadShares, psi
from mpc.threshold.local import run_parties


def _run(x, y, px, py, **kw):
    items, pay = {0: x, 1: y}, {0: px, 1: py}
    return run_parties(2, lambda c: psi(c, items[c.pid], payload=pay[c.pid], **kw), timeout=20)


def test_shares_reconstruct_the_joined_table(tmp_path):
    x = ["a", "b", "c", "d"]
    age = np.array([30, 40, -5, 60], dtype=np.int64)
    y = ["c", "x", "a", "y", "z"]
    income = np.array([100, 200, 300, 400, 500], dtype=np.int64)
    r, s = _run(x, y, {"age": age}, {"income": income})
    assert r.members == [b"a", b"c"]
    assert r.shares.rows == s.shares.rows == 5
    assert r.shares.owner == s.shares.owner == {"age": "receiver", "income": "sender"}
    ind = RING.add(r.shares.indicator, s.shares.indicator)
    ages = RING.to_signed(RING.add(r.shares.columns["age"], s.shares.columns["age"]))
    incomes = RING.to_signed(RING.add(r.shares.columns["income"], s.shares.columns["income"]))
    assert int(ind.sum()) == 2 and set(ind.tolist()) <= {0, 1}
    joined = sorted(zip(ages[ind == 1].tolist(), incomes[ind == 1].tolist()))
    assert joined == [(-5, 100), (30, 300)]  # c: age -5 income 100; a: age 30 income 300
    assert (ages[ind == 0] == 0).all()
    assert sorted(incomes.tolist()) == sorted(income.tolist())  # sender rows: all its values
    # the sender's own shares carry no hint of which rows joined: its indicator share is the
    # negated mask stream, the same whichever rows joined
    path = s.shares.save(tmp_path / "sender")
    back = PayloadShares.load(path)
    assert back.rows == 5 and np.array_equal(back.columns["income"], s.shares.columns["income"])


def test_sender_indicator_share_is_masked():
    """The sender's indicator share is masked by the PRG stream (not the plain 0/1 pattern),
    and the sender gets no intersection size or members."""
    _, s = _run(["a"], ["a", "b", "c"], {}, {"v": np.array([1, 2, 3])})
    assert not set(s.shares.indicator.tolist()) <= {0, 1}
    assert s.size is None and s.members is None


def test_payload_needs_unique_keys_and_integers():
    with pytest.raises(ParameterError, match="unique keys"):
        _run(["a", "a"], ["a"], {"v": np.array([1, 2])}, {})
    with pytest.raises(ParameterError, match="FixedPoint"):
        _run(["a"], ["a"], {"v": np.array([1.5])}, {})
    with pytest.raises(ParameterError, match="one value per input row"):
        _run(["a"], ["a"], {"v": np.array([1, 2])}, {})
    with pytest.raises(ParameterError, match="output='members'"):
        _run(["a"], ["a"], {}, {}, output="size")


def test_column_name_clash_is_refused():
    with pytest.raises(ParameterError, match="rename"):
        _run(["a"], ["a"], {"v": np.array([1])}, {"v": np.array([2])})


def test_empty_intersection_with_payload():
    r, s = _run(["a"], ["b", "c"], {"v": np.array([7])}, {"w": np.array([1, 2])})
    ind = RING.add(r.shares.indicator, s.shares.indicator)
    assert r.members == [] and not ind.any()
