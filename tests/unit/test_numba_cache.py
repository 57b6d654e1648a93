"""Numba's compiled kernels are cached in a per-user folder, never inside the installed package.

Regression for issue 10 defect 1: `cache=True` wrote `mpc/arith/__pycache__/*.nbi|*.nbc` into
site-packages, which survived `pip uninstall` and shadowed the next install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mpc

PKG = Path(mpc.__file__).resolve().parent

# numba is imported first (as another library might): our cache folder must still be used
PROG = """
import json, time, numba, numpy as np
from mpc.arith import ring_kernels as k
x = np.arange(7, dtype=np.uint64)
m = k.beaver_masks(x, x, x, x)
z = k.beaver_finish(x, x, x, x, x, True)
acc = x.copy(); k.add_into(acc, x)
assert m.tolist() == [0] * 14 and acc.tolist() == (2 * x).tolist()
kernels = [k._masks, k._finish, k._add_into]
print(json.dumps({"paths": [getattr(f._cache, "cache_path", None) for f in kernels],
                  "hits": sum(sum(f.stats.cache_hits.values()) for f in kernels),
                  "misses": sum(sum(f.stats.cache_misses.values()) for f in kernels)}))
"""


def _run(env_changes: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MPC_NUMBA_CACHE_DIR", "NUMBA_CACHE_DIR")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROG], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _index_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc"))


def _package_index_files_since(t0: float) -> list[Path]:
    return [p for p in _index_files(PKG) if p.stat().st_mtime >= t0]


def test_default_cache_is_per_user_and_reused(tmp_path):
    import time

    t0 = time.time() - 1
    xdg = tmp_path / "xdg"
    first = _run({"XDG_CACHE_HOME": str(xdg)})
    root = xdg / "mpc-engine" / "numba"
    assert all(p and Path(p).is_relative_to(root) for p in first["paths"]), first["paths"]
    written = _index_files(root)
    assert {p.suffix for p in written} == {".nbi", ".nbc"} and len(written) >= 6, written
    assert root.stat().st_mode & 0o077 == 0           # numba loads pickles from it: private
    assert not _package_index_files_since(t0)        # nothing written inside the package
    second = _run({"XDG_CACHE_HOME": str(xdg)})     # a new process loads what the first compiled
    assert second["hits"] >= 3 and second["misses"] == 0, second


def test_cache_dir_override_and_off(tmp_path):
    import time

    t0 = time.time() - 1
    own = tmp_path / "own"
    got = _run({"MPC_NUMBA_CACHE_DIR": str(own), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert all(Path(p).is_relative_to(own) for p in got["paths"])
    assert _index_files(own) and not (tmp_path / "xdg").exists()
    off = _run({"MPC_NUMBA_CACHE_DIR": "off", "XDG_CACHE_HOME": str(tmp_path / "xdg2")})
    assert off["paths"] == [None, None, None] and not (tmp_path / "xdg2").exists()
    assert not _package_index_files_since(t0)


def test_unsafe_cache_folder_is_not_used(tmp_path):
    from mpc.arith import jit

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)                               # others could plant pickles there
    os.environ[jit.ENV] = str(shared)
    try:
        @jit.njit()
        def f(x):
            return x + 1

        assert f(1) == 2
        assert f._cache.cache_path is None             # compiled in memory, not cached there
        assert not list(shared.iterdir())
    finally:
        del os.environ[jit.ENV]


def test_no_module_uses_numbas_in_package_cache():
    """Every cached kernel goes through mpc.arith.jit.njit: numba's `cache=True` writes beside the source."""
    import re

    import dp

    offenders = []
    for root in (PKG, Path(dp.__file__).resolve().parent):
        for src in root.rglob("*.py"):
            if src.name == "jit.py" and src.parent.name == "arith":
                continue
            if re.search(r"cache\s*=\s*True", src.read_text(errors="replace")) and "numba" in src.read_text():
                offenders.append(str(src))
    assert not offenders, f"use mpc.arith.jit.njit instead of numba's cache=True in {offenders}"
