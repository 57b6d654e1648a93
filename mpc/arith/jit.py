"""Numba compilation whose on-disk cache lives in a per-user folder, never inside the package.

Numba's own `cache=True` writes next to the source, into `<package>/__pycache__`, whenever that
folder is writable: for a `pip install .` that is site-packages. pip does not know those files,
so uninstalling leaves `site-packages/mpc` behind as a namespace package that shadows a later
(editable) install. `njit` here compiles without numba's locators and attaches a cache whose
only locator is the folder `cache_dir()` names:

    $MPC_NUMBA_CACHE_DIR      if set; "", "0", "off" or "none" turn the disk cache off
                              (every process compiles the kernels again, ~1 s)
    $NUMBA_CACHE_DIR          if set (numba's own setting)
    $XDG_CACHE_HOME/mpc-engine/numba, else ~/.cache/mpc-engine/numba

The folder is read when a kernel is defined (when its module is imported), from the
environment, so it does not matter whether something imported numba first. It is created
private to the user (0700): numba loads cached code with pickle, so whoever can write the
folder can run code in our processes. A folder that is not ours, is writable by others, or
cannot be created makes the kernels compile in memory instead (never in the package).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numba as nb

ENV = "MPC_NUMBA_CACHE_DIR"
_OFF = {"", "0", "off", "none", "false", "no"}


def cache_dir() -> Path | None:
    """The folder compiled kernels are cached in, or None if the disk cache is off."""
    own = os.environ.get(ENV)
    if own is not None:
        return None if own.strip().lower() in _OFF else Path(own).expanduser()
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mpc-engine" / "numba"


def _usable(root: Path) -> bool:
    """Create `root` (0700) if needed; True if it is ours and no one else can write it."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = root.stat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _cache_classes():
    """Numba cache classes whose only locator is `cache_dir()` (numba >= 0.59 internals)."""
    from numba.core import caching

    class Locator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        # one sub-folder per source folder (numba's own hashing), so two installs never mix
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(cache_dir() / self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

        def ensure_cache_path(self):
            path = Path(self._cache_path)
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            super().ensure_cache_path()

    class Impl(caching.CompileResultCacheImpl):
        _locator_classes = [Locator]

    class Cache(caching.FunctionCache):
        _impl_class = Impl

    return Cache


def attach_cache(dispatcher) -> str | None:
    """Give a numba dispatcher the per-user disk cache; returns its folder (None: no disk cache)."""
    root = cache_dir()
    if root is None or not hasattr(dispatcher, "enable_caching") or not _usable(root):
        return None
    try:
        cache = _cache_classes()(dispatcher.py_func)
    except (ImportError, AttributeError, RuntimeError, OSError, TypeError):
        return None          # numba internals changed or the folder is unusable: compile in memory
    dispatcher._cache = cache
    return cache.cache_path


def njit(**options):
    """`numba.njit(**options)` with the per-user disk cache (`cache=` is not accepted: always cached)."""
    if "cache" in options:
        raise TypeError("mpc.arith.jit.njit always caches in cache_dir(); do not pass cache=")

    def wrap(fn):
        dispatcher = nb.njit(**options)(fn)
        attach_cache(dispatcher)
        return dispatcher

    return wrap
