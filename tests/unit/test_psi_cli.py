"""`mpc psi --local 2` from CSV files: members, size only, payload shares written to files."""

from __future__ import annotations

import numpy as np

from mpc.arith import RING, FixedPoint
from mpc.cli import main
from mpc.psi import PayloadShares


def _csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_members_and_size(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", ["id", "age"], [["u1", 30], ["u2", 41], ["u3", 52]])
    b = _csv(tmp_path / "b.csv", ["id", "income"], [["u3", 1.5], ["u9", 2.0], ["u1", 3.25]])
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(b)]) == 0
    out = capsys.readouterr().out
    assert "intersection size: 2" in out and out.strip().splitlines()[-2:] == ["u1", "u3"]
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(b), "--output", "size"]) == 0
    out = capsys.readouterr().out
    assert "intersection size: 2" in out and "u1" not in out


def test_payload_shares_files(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", ["id", "age"], [["u1", 30], ["u2", 41], ["u3", 52]])
    b = _csv(tmp_path / "b.csv", ["id", "income"], [["u3", 1.5], ["u9", 2.0], ["u1", 3.25]])
    out = tmp_path / "out"
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(b), "--payload-a", "age", "--payload-b", "income",
                 "--frac-bits", "8", "--out", str(out)]) == 0
    assert (out / "members.txt").read_text().split() == ["u1", "u3"]
    s0, s1 = (PayloadShares.load(out / f"party{p}_shares.npz") for p in (0, 1))
    ind = RING.add(s0.indicator, s1.indicator) == 1
    fp = FixedPoint(8)
    age = fp.decode(RING.add(s0.columns["age"], s1.columns["age"]))[ind]
    income = fp.decode(RING.add(s0.columns["income"], s1.columns["income"]))[ind]
    assert sorted(zip(age.tolist(), income.tolist())) == [(30.0, 3.25), (52.0, 1.5)]


def test_bad_inputs_are_clear(tmp_path, capsys):
    a = _csv(tmp_path / "a.csv", ["id", "age"], [["u1", "x"]])
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(a), "--payload-a", "age"]) == 2
    assert "integers" in capsys.readouterr().err
    assert main(["psi", "--local", "3", "--a", str(a), "--b", str(a)]) == 2
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["psi", "--local", "2", "--a", str(a), "--b", str(a), "--key", "nope"]) == 2
    assert "no column" in capsys.readouterr().err
