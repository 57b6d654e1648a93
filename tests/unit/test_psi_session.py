"""PSI inside a runtime Session, then a following computation on the joined rows."""

from __future__ import annotations

import numpy as np

from mpc.psi import psi
from mpc.psi.joined import joined
from mpc.runtime import run_local


def test_psi_then_secure_sum_and_dot_over_the_intersection():
    keys = {0: ["a", "b", "c", "d"], 1: ["d", "x", "b", "y"]}
    pay = {0: {"age": np.array([30, 40, 50, 60])}, 1: {"income": np.array([7, 8, 9, 10])}}

    async def program(s):
        r = await psi(s.comm.fork("psi"), keys[s.pid], payload=pay[s.pid])
        t = await joined(s, r.shares, bounds={"age": 100, "income": 100})
        total_income = await s.open(t["income"].sum())
        dot = await s.open(await t["age"].dot(t["income"]))
        count = await s.open(t["indicator"].sum())
        return int(total_income), int(dot), int(count)

    results = run_local(2, program)
    # intersection {b, d}: income 9 (b) + 7 (d); age*income = 40*9 + 60*7
    assert results[0] == results[1] == (16, 40 * 9 + 60 * 7, 2)
