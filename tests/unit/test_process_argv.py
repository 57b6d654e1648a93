"""Helper processes must run the installed package even when started from a source checkout."""

import subprocess
import sys

from mpc.node.process import mpc_argv


def test_helper_processes_do_not_import_the_current_directory(tmp_path):
    # A decoy `mpc` package in the working directory: `python -m mpc` would import it; -P must not.
    decoy = tmp_path / "mpc"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('imported the decoy from the current directory')\n")
    (decoy / "__main__.py").write_text("raise SystemExit('imported the decoy from the current directory')\n")
    argv = mpc_argv("info")
    assert argv[:4] == [sys.executable, "-P", "-m", "mpc"]
    r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "native kernels:" in r.stdout
