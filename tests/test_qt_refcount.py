"""Guard against Qt bindings that corrupt the reference count of None.

PySide6 6.12.0 on Python 3.11 drops a reference to None on every Qt call that returns
nothing; a pyqtgraph animation then aborts the interpreter within seconds.  The project
excludes that release; this test catches any future release with the same fault.
"""

from __future__ import annotations

import sys

import pytest

QtCore = pytest.importorskip("PySide6.QtCore", reason="Qt bindings are a runtime dependency")


def test_void_qt_calls_keep_the_reference_count_of_none(qapp):
    timer = QtCore.QTimer()
    point = QtCore.QPointF()
    before = sys.getrefcount(None)
    for i in range(50_000):
        timer.setInterval(i % 100)  # returns nothing
        point.setX(float(i))  # returns nothing
    after = sys.getrefcount(None)
    assert after >= before - 100, f"None lost {before - after} references in 100k void Qt calls"
