"""Process memory tuning done once, when the export starts (a leaf: imports nothing of ours)."""

from __future__ import annotations

import ctypes

_M_ARENA_MAX = -8


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (M_ARENA_MAX); call it before any thread starts.

    glibc gives threads arenas of their own (the SDK's drain threads, the uploads), and
    the buffers they free stay in each arena: with four uploads, a million-record run
    peaked 7-11 MiB higher. glibc fixes the cap when the first thread allocates, so it is
    set when the export starts. Returns False where the C library has no `mallopt` (not
    glibc): nothing done.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, count))
