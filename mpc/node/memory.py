"""Allocator settings for the node daemon, a process that moves large arrays job after job.

glibc's malloc serves blocks above its mmap threshold with fresh mappings and returns them on
free, so every protocol round pays page faults (and, with transparent huge pages, compaction)
on its new 8-16 MB arrays. The node raises the threshold to its maximum (32 MiB) and keeps freed
heap memory, so those arrays are reused instead: 20-35% more throughput on large products in our
measurements. Only the daemon does this (it owns its process); the library never changes a host
program's allocator. No effect, and no error, on other C libraries.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Tune glibc malloc as described above; False where it is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1) == 1
    ok &= mallopt(M_TOP_PAD, 128 << 20) == 1
    return bool(ok)
