"""The C heap kept steady while batches step: freed memory stays for the next step.

Each step of a batch allocates and frees the same few megabytes of temporaries.  glibc
gives the top of its heap back to the system as soon as more than 128 kB of it is free,
until a large block freed once makes it raise that threshold for the rest of the process;
before then every step faults its temporaries in again (about a hundred page faults a
step for 4,096 runs: a third of the time of a small map).  ``steady`` sets both
thresholds from the start instead.  Where the C library has no ``mallopt`` it does
nothing.

It changes the whole process's allocator, so only programs that own their process call
it: the ``zoo`` command and the app (and the benchmarks, which measure them).  A script
that uses ``zoo`` as a library may call it too.
"""

from __future__ import annotations

import ctypes

#: glibc's ``mallopt`` parameters and the values set.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Free memory at the top of the heap kept instead of returned to the system.
TRIM_THRESHOLD = 64 << 20
#: Blocks from this size up are mapped on their own (and returned when freed).
MMAP_THRESHOLD = 32 << 20

_done = False


def steady() -> None:
    """Set the heap's thresholds once per process (later calls do nothing)."""
    global _done
    if _done:
        return
    _done = True
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (AttributeError, OSError, TypeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
