"""Node and client TOML configuration: what is accepted, and the clear errors for what is not."""

from __future__ import annotations

import pytest

from mpc.errors import ParameterError
from mpc.node.config import load_client_config, load_node_config
from mpc.node.datasets import load_dataset
from mpc.node.localcluster import write_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cfg")
    data = root / "d.csv"
    data.write_text("age,smoker\n30,1\n41.5,0\n")
    ds = {0: {"patients": {"path": data, "columns": {"age": "float", "smoker": "int"}, "allow": ["sum"]}}}
    return write_cluster(root, 3, datasets=ds, ports=[5001, 5002, 5003, 5004])


def test_written_cluster_config_loads(cluster):
    cfg = load_node_config(cluster.node_configs[0])
    assert cfg.id == 0 and cfg.role == "party" and cfg.parties == (0, 1, 2) and cfg.dealer == 3
    assert cfg.threshold == 1 and cfg.timeout_s == 10.0 and cfg.tls is not None
    assert [e.address for e in cfg.roster] == [f"127.0.0.1:{p}" for p in (5001, 5002, 5003, 5004)]
    ds = load_dataset(cfg.datasets["patients"])
    assert ds.rows == 2 and ds.columns["age"].tolist() == [30.0, 41.5] and ds.columns["smoker"].dtype.kind == "i"
    assert load_node_config(cluster.node_configs[3]).role == "dealer"
    client = load_client_config(cluster.client_config)
    assert sorted(client.nodes) == [0, 1, 2, 3] and client.tls is not None


def _edit(cluster, tmp_path, old, new):
    text = cluster.node_configs[0].read_text()
    assert old in text
    p = tmp_path / "edited.toml"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize("old,new,message", [
    ("id = 0\nlisten", "id = 7\nlisten", "not in the roster"),
    ('role = "party"\nthreshold', 'role = "dealer"\nthreshold', "differs from the roster"),
    ("threshold = 1", "threshold = 5", "threshold 5"),
    ('triple_source = "dealer"', 'triple_source = "magic"', "triple_source"),
    ("[tls]", "[tlsx]", "mutual TLS is required"),
    ("\n[[roster]]\nid = 1\n", "\n[[roster]]\nid = 9\n", "no gaps"),
    ('columns = { "age"', 'columns = { "age" = "text", "x"', "column types"),
])
def test_bad_configs_are_refused_with_a_clear_error(cluster, tmp_path, old, new, message):
    with pytest.raises(ParameterError, match=message):
        load_node_config(_edit(cluster, tmp_path, old, new))


def test_not_toml_and_missing_file(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_text("[node\n")
    with pytest.raises(ParameterError, match="not valid TOML"):
        load_node_config(bad)
    with pytest.raises(ParameterError, match="cannot read config"):
        load_node_config(tmp_path / "missing.toml")


def test_dataset_schema_mismatch_is_refused(cluster, tmp_path):
    cfg = load_node_config(cluster.node_configs[0]).datasets["patients"]
    cfg.path.write_text("age,smoker\n30,1.5\n")
    with pytest.raises(ParameterError, match="fractional"):
        load_dataset(cfg)
    cfg.path.write_text("age\n30\n")
    with pytest.raises(ParameterError, match="no column"):
        load_dataset(cfg)
    cfg.path.write_text("age,smoker\nabc,1\n")
    with pytest.raises(ParameterError, match="not a number"):
        load_dataset(cfg)


def test_bad_csv_cell_names_file_line_and_column(cluster):
    cfg = load_node_config(cluster.node_configs[0]).datasets["patients"]
    cols = list(cfg.columns)
    good = ",".join("1" for _ in cols)
    bad_col = cols[-1]
    cells = ["1"] * (len(cols) - 1) + ["n/a"]
    # header, two good rows, a blank line (skipped, still counted), then the bad cell on line 5
    cfg.path.write_text(",".join(cols) + f"\n{good}\n{good}\n\n" + ",".join(cells) + "\n")
    with pytest.raises(ParameterError) as info:
        load_dataset(cfg)
    msg = str(info.value)
    assert str(cfg.path) in msg and "line 5" in msg and repr(bad_col) in msg and "'n/a' is not a number" in msg
    cfg.path.write_text(",".join(cols) + f"\n{good}\n" + ",".join(["1"] * (len(cols) - 1) + ["inf"]) + "\n")
    with pytest.raises(ParameterError, match=r"line 3, column .*NaN or infinite"):
        load_dataset(cfg)
