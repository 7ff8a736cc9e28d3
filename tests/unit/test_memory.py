"""Process memory tuning when the export starts (target_adobe_s3.memory)."""

from __future__ import annotations

import platform

from target_adobe_s3.memory import limit_malloc_arenas


def test_malloc_arenas_are_capped_on_glibc() -> None:
    """Upload threads would otherwise each keep a glibc arena of freed buffers."""
    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")
