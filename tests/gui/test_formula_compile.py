"""A typed formula is compiled off the UI thread: the window answers while sympy works."""

from __future__ import annotations

import threading

from PySide6 import QtCore

from zoo import expr


def test_a_typed_formula_compiles_in_the_background_while_a_timer_fires(
    qtbot, make_window, monkeypatch
):
    window = make_window(autoplay=False)
    assert window.set_model("expression", {})
    release, entered = threading.Event(), threading.Event()
    real = expr.compile_formula
    threads = []

    def slow_compile(text, budget=None):
        if text.startswith("max("):
            threads.append(threading.current_thread())
            entered.set()
            release.wait(30)
        return real(text, budget)

    monkeypatch.setattr(expr, "compile_formula", slow_compile)
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    formula = "max(x, 2*y, x+y, 1-x, 1-y, x-y, 2*x, 3*y)"
    box = window.model_panel.form.fields["formula"]
    try:
        box.setText(formula)
        box.editingFinished.emit()
        qtbot.waitUntil(entered.is_set, timeout=10000)
        seen = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= seen + 5, timeout=10000)  # the UI turns
        assert window.settings["formula"] != formula  # not built until compiled
    finally:
        release.set()
        timer.stop()
    qtbot.waitUntil(lambda: window.settings["formula"] == formula, timeout=30000)
    assert threads and threads[0] is not threading.main_thread()


def test_an_edit_made_while_compiling_supersedes_the_earlier_one(qtbot, make_window):
    window = make_window(autoplay=False)
    assert window.set_model("expression", {})
    box = window.model_panel.form.fields["formula"]
    box.setText("max(x, y, -x, -y) + 0.5*sin(3*x)")
    box.editingFinished.emit()
    box.setText("x**2 + 5*y**2")
    box.editingFinished.emit()
    qtbot.waitUntil(lambda: window.settings["formula"] == "x**2 + 5*y**2", timeout=30000)
    qtbot.wait(300)
    assert window.settings["formula"] == "x**2 + 5*y**2"
