"""`mpc run --list`, per-protocol parameter help and `mpc run --help` (no nodes needed)."""

from __future__ import annotations

import pytest

from mpc.cli import main
from mpc.protocols import default_registry


def test_list_shows_every_protocol_with_its_parameters(capsys):
    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    for protocol in default_registry():
        assert protocol.name in out
    line = next(i for i, l in enumerate(out.splitlines()) if l.startswith("histogram "))
    assert "edges" in out.splitlines()[line + 1] and "bins" in out.splitlines()[line + 1]


def test_list_one_protocol_explains_its_parameters(capsys):
    assert main(["run", "--list", "histogram"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("histogram/v1: ") and "differentially private" in out
    assert "edges" in out and "strictly increasing" in out and "bins" in out
    assert main(["run", "--list", "nosuch"]) == 2
    assert "unknown protocol 'nosuch'" in capsys.readouterr().err


def test_every_builtin_protocol_documents_its_parameters():
    for protocol in default_registry():
        assert protocol.parameters, protocol.name


def test_run_help_points_to_list_which_exists(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--list" in out and "mpc run --list histogram" in out


def test_run_without_config_says_what_is_missing(capsys):
    assert main(["run", "histogram"]) == 2
    assert "--config" in capsys.readouterr().err


def test_columns_each_protocol_reads():
    reg = default_registry()
    stats = reg.get("mean").check_params({"column": "age", "lower": 0, "upper": 1,
                                          "where": {"column": "smoker", "op": "==", "value": 1}})
    assert reg.get("mean").columns(stats, 0, (0, 1)) == ["age", "smoker"]
    dot = reg.get("dot").check_params({"x": {"party": 0, "column": "a", "lower": 0, "upper": 1},
                                       "y": {"party": 1, "column": "b", "lower": 0, "upper": 1}})
    assert reg.get("dot").columns(dot, 1, (0, 1)) == ["b"]
    gc = reg.get("gc_eval").check_params({"circuit": "mult2_64", "input_columns": ["p", "q"]})
    assert gc and reg.get("gc_eval").columns(gc, 0, (0, 1)) == ["p"] and reg.get("gc_eval").columns(gc, 1, (0, 1)) == ["q"]
    assert reg.get("dkg").columns is None
