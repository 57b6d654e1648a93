"""gc_eval between two `mpc node` processes over gRPC with mutual TLS: AES-128 known answers, and
`mpc gc run --transport grpc`. Skipped while the node daemon (mpc.node) is not in the build."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mpc import _native

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")]


@pytest.fixture(scope="module")
def nodes_available():
    try:
        import mpc.client  # noqa: F401
        import mpc.node.localcluster  # noqa: F401
    except ImportError:
        pytest.skip("the node daemon and client (mpc.node, mpc.client) are not in this build")


def test_aes_known_answers_between_two_nodes(shared_dir, nodes_available):
    from mpc.cli.gc import run_on_local_nodes

    path = shared_dir / "circuits" / "kat.json"
    if not path.exists():
        pytest.skip(f"{path} not present")
    vecs = [v for v in json.loads(path.read_text())["vectors"] if v["circuit"] == "aes_128.txt"]
    keys = [int(v["inputs"][0]["int_hex"], 16) for v in vecs]
    pts = [int(v["inputs"][1]["int_hex"], 16) for v in vecs]
    outs, report = run_on_local_nodes("aes_128", {"garbler": [keys], "evaluator": [pts]}, ("garbler", "evaluator"),
                                      ("evaluator",), len(vecs), timeout_s=120)
    assert outs == [[v["outputs"][0]["int_hex"] for v in vecs]]
    assert report[0]["bytes_sent"] >= 32 * 6400 * len(vecs)  # the garbled tables went over gRPC


def test_cli_grpc_transport(nodes_available):
    cmd = [sys.executable, "-m", "mpc", "gc", "run", "mult2_64", "--garbler-input", "ffffffffffffffff",
           "--evaluator-input", "0000000000000003", "--transport", "grpc"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0000000000000002", "fffffffffffffffd"]
