"""Formulas that once took minutes, overflowed late or were accepted though nowhere real."""

from __future__ import annotations

import time

import numpy as np
import pytest

from zoo import EngineError, build_problem
from zoo.expr import FormulaError, compile_formula, parse_formula

MAX_FORMULAS = [
    "max(x, y, -x, -y)",
    "max(x, 2*y, x+y, 1-x, 1-y, x-y, 2*x, 3*y)",
    "max(" + ", ".join(f"{i}*x - {i % 3}*y + {i}" for i in range(30)) + ")",
    "min(" + ", ".join(f"{i % 5}*x + {i % 7}*y - {i}" for i in range(30)) + ")",
]


def _pieces(text):
    """The arguments of a top-level max/min as separate compiled formulas: the oracle."""
    inner = text[4:-1]
    return [compile_formula(piece) for piece in inner.split(", ")]


@pytest.mark.parametrize("text", MAX_FORMULAS)
def test_many_way_max_and_min_compile_within_budget_with_the_right_derivatives(text):
    begin = time.perf_counter()
    formula = compile_formula(text)
    assert time.perf_counter() - begin < 60  # a generous bound; it used to take minutes
    points = np.random.default_rng(5).uniform(-2, 2, size=(64, 2))
    pieces = _pieces(text)
    values = np.stack([piece.loss(points) for piece in pieces])  # (k, B)
    pick = values.argmax(0) if text.startswith("max") else values.argmin(0)
    rows = np.arange(len(points))
    np.testing.assert_allclose(formula.loss(points), values[pick, rows], rtol=1e-12)
    gradients = np.stack([piece.grad(points) for piece in pieces])  # (k, B, 2)
    np.testing.assert_allclose(formula.grad(points), gradients[pick, rows], rtol=1e-12)
    assert np.array_equal(formula.hess(points), np.zeros((len(points), 2, 2)))


def test_a_tie_shares_the_derivative_equally_among_the_tied_arguments():
    at_zero = np.zeros((1, 2))
    # max(x, 2x, 3x) at 0: the three tie, so the slope is (1 + 2 + 3)/3.
    assert compile_formula("max(x, 2*x, 3*x) + y").grad(at_zero).tolist() == [[2.0, 1.0]]
    # max(x, -x) = |x|: ½·1 + ½·(−1) = 0 = sign(0), the convention of abs.
    assert compile_formula("max(x, -x) + 0*y").grad(at_zero).tolist() == [[0.0, 0.0]]
    assert compile_formula("min(x, y)").grad(at_zero).tolist() == [[0.5, 0.5]]


def test_a_formula_past_its_compile_budget_is_refused_with_the_reason(monkeypatch):
    import time

    from zoo import expr

    real = expr._compile_now

    def endless(text):  # differentiation that never finishes on its own
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pass
        return real(text)

    text = "max(" + ", ".join(f"sin({i}*x)*y**2" for i in range(12)) + ")"
    monkeypatch.setattr(expr, "_compile_now", endless)
    begin = time.monotonic()
    with pytest.raises(FormulaError, match=r"takes more than 0\.2 s to differentiate"):
        compile_formula(text, budget=0.2)
    assert time.monotonic() - begin < 30  # interrupted, not waited out
    monkeypatch.setattr(expr, "_compile_now", real)
    assert compile_formula(text).loss(np.ones((1, 2))).shape == (1,)  # a bigger budget


def test_loading_sympy_is_not_charged_to_the_first_formula(monkeypatch):
    """A cold disk makes the first sympy import take seconds; the budget is the formula's."""
    from zoo import expr

    loaded = []

    def slow_load():  # as long as loading sympy from a cold disk, past the budget below
        time.sleep(0.6)
        loaded.append(True)

    monkeypatch.setattr(expr, "_load_sympy", slow_load)
    formula = compile_formula("x**3 - 7*x*y + y**4 + 0.123", budget=0.5)
    assert loaded == [True]
    assert formula.grad(np.array([[1.0, 2.0]]))[0].tolist() == [3.0 - 14.0, -7.0 + 32.0]


@pytest.mark.parametrize("digits", [309, 400, 4000])
def test_constants_beyond_float_range_are_refused_when_parsed(digits):
    text = "1" + "0" * digits + "*x + y"
    with pytest.raises(FormulaError, match="is too large"):
        parse_formula(text[:500] if len(text) > 500 else text)


def test_the_largest_float_constant_is_accepted():
    formula = compile_formula(f"{int(1.7e308)}*x*0 + y")
    assert formula.loss(np.array([[1.0, 2.0]])).tolist() == [2.0]


@pytest.mark.parametrize("text", ["sqrt(-1)", "sqrt(-1) + x", "log(-1 - x**2 - y**2)"])
def test_a_formula_with_no_real_value_anywhere_is_refused(text):
    with pytest.raises(FormulaError, match="no real value anywhere"):
        compile_formula(text)


def test_the_expression_model_names_the_formula_setting_when_refused(registry):
    with pytest.raises(EngineError, match=r"formula: .*no real value anywhere"):
        build_problem("expression", {"formula": "sqrt(-1)"}, registry=registry)


def test_a_plain_41_term_sum_is_accepted_and_evaluates():
    text = " + ".join(f"{i}*x" for i in range(1, 42)) + " + y"
    formula = compile_formula(text)
    assert formula.loss(np.array([[1.0, 1.0]])).tolist() == [sum(range(1, 42)) + 1.0]


def test_deep_nesting_is_still_refused():
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_formula("x*(" * 45 + "x" + ")" * 45)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_formula("-" * 60 + "x")
