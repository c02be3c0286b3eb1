"""Typed formulas: what is refused and where, that nothing is ever run, exact derivatives,
and gaps instead of crashes."""

from __future__ import annotations

import ast
import builtins
import os
import re
import subprocess
import sys
import types
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import EngineError, build_problem
from zoo.expr import MAX_LENGTH, Formula, FormulaError, compile_formula, parse_formula
from zoo.landscape import evaluate_grid
from zoo.testing import check_model

REFUSALS = [
    # (formula, column, a piece of the message)
    ("__import__", 1, "'__import__'"),
    ("os", 1, "'os'"),
    ("x + os", 5, "'os'"),
    ("x.__class__", 1, "attribute access 'x.__class__'"),
    ("1 + x.__class__.__bases__", 5, "attribute access"),
    ("open()", 1, "'open()'"),
    ("x + open('f')", 5, "'open('f')'"),
    ("__import__('os').system('ls')", 1, "attribute access"),
    ("lambda: 1", 1, "lambda"),
    ("x + (lambda: 1)()", 6, "lambda"),
    ("[x for x in (1, 2)]", 1, "comprehension"),
    ("max(x for x in y)", 4, "comprehension"),
    ("'abc'", 1, "string"),
    ("x + 'a'", 5, "string"),
    ("x[0]", 1, "indexing 'x[0]'"),
    ("2 * y[1:2]", 5, "indexing"),
    ("9**9**9", 1, "exponent tower '9**9**9'"),
    ("x + 2**x**2", 5, "exponent tower"),
    ("x**1000", 4, "exponent '1000' is too large"),
    ("x**(100*100*100)", 5, "too large"),
    ("9**(x - x + 100*100)", 5, "too large"),
    ("((9**90)**90)**90", 2, "too large"),
    ("x" * 10_000, MAX_LENGTH + 1, "10000 characters"),
    ("-" * 60 + "x", 41, "nested too deeply"),
    ("sin(" * 50 + "x" + ")" * 50, 157, "nested too deeply"),
    ("max(x, y, key=1)", 11, "keyword argument 'key=1'"),
    ("sin(**x)", 5, "keyword argument"),
    ("max(*x)", 5, "unpacking"),
    ("x % 2", 3, "'%'"),
    ("x ^ 2", 3, "a power is written **"),
    ("x // 2", 3, "'//'"),
    ("sin", 1, "'sin' is a function"),
    ("x(2)", 1, "is not a function"),
    ("sin(x, y)", 1, "one argument"),
    ("min(x)", 1, "two or more"),
    ("x == y", 1, "comparison"),
    ("x and y", 1, "logical operator"),
    ("x if y else 1", 1, "conditional"),
    ("(x, y)", 1, "tuple"),
    ("{'a': 1}", 1, "dictionary"),
    ("f'{x}'", 1, "f-string"),
    ("(x := 2)", 2, "assignment"),
    ("True", 1, "not a real number"),
    ("None", 1, "not a real number"),
    ("1j * x", 1, "not a real number"),
    ("1e999", 1, "too large"),
    ("log(0) + x", 1, "'log(0)' is undefined"),
    ("x + 1/0", 5, "'1/0' is undefined"),
    ("x +", 4, "ends too early"),
    ("2 x", 3, "invalid syntax"),
    ("import os", 1, "invalid syntax"),
    ("x; import os", 2, "invalid syntax"),
    ("x + y\x00", 6, "null character"),
]


@pytest.mark.parametrize(("text", "column", "piece"), REFUSALS)
def test_refusals_name_the_piece_and_its_column(text, column, piece):
    with pytest.raises(FormulaError) as caught:
        compile_formula(text)
    assert caught.value.column == column
    message = str(caught.value)
    assert message.startswith(f"column {column}: ")
    assert piece in message


def test_empty_and_non_text_are_refused():
    for value in ("", "   ", None, 3, ["x"]):
        with pytest.raises(FormulaError):
            compile_formula(value)


def test_refusals_and_parsing_do_not_import_sympy():
    """Refusing is fast: the checks need only ``ast``; sympy loads on the first compile."""
    script = (
        "import sys\n"
        "import zoo_plugins.models.expression\n"
        "from zoo.expr import FormulaError, parse_formula\n"
        "parse_formula('sin(x) * y**2 + max(x, y)')\n"
        "for text in ('9**9**9', 'x.__class__', '__import__(\"os\")', 'x' * 10000):\n"
        "    try:\n"
        "        parse_formula(text)\n"
        "    except FormulaError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit('accepted ' + text)\n"
        "assert 'sympy' not in sys.modules, 'sympy imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_accepted_vocabulary():
    text = (
        "sin(x) + cos(y) + tan(x/4) + exp(-x) + log(1 + y**2) + sqrt(2 + x) + abs(x*y)"
        " + tanh(x) + sinh(y) + cosh(x) + arctan(y) + min(x, y) + max(x, y, 1) + pi*e - +x"
    )
    tree = parse_formula(text)
    assert isinstance(tree, ast.Expression)
    assert isinstance(compile_formula(text), Formula)


# ---- nothing is ever run ------------------------------------------------------------------


#: Import lines and function definitions: what sympy writes and runs for itself.
SYMPY_SOURCE = re.compile(r"(from [\w.]+ import [\w, *]+|import [\w.]+|def \w+\(.*)", re.DOTALL)


def _importing() -> bool:
    """Whether a module is being imported: its own code may eval its own strings (sympy's
    unit prefixes do, when a printer first loads them), none of which is a formula."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@contextmanager
def guarded(violations: list[str], *, sympy_codegen: bool):
    """Replace eval, exec, compile and the doors to a shell with recorders.

    Without ``sympy_codegen`` only parsing to a tree (compile with PyCF_ONLY_AST) is
    allowed: all that checking a formula may do.  With it, sympy may also run the code it
    writes itself (function definitions, import lines, modules being imported); ``eval``
    only while a module is imported, since sympify of a string goes through it.  Calls are
    recorded, not only refused: the compiler turns unexpected exceptions into FormulaError.
    """
    saved = {
        (builtins, "compile"): builtins.compile,
        (builtins, "exec"): builtins.exec,
        (builtins, "eval"): builtins.eval,
        (os, "system"): os.system,
        (os, "popen"): os.popen,
        (subprocess, "Popen"): subprocess.Popen,
    }
    real_compile, real_exec, real_eval = builtins.compile, builtins.exec, builtins.eval

    def allowed(source) -> bool:
        if not sympy_codegen:
            return False
        if _importing():
            return True
        if isinstance(source, types.CodeType):
            return "lambdifygenerated" in source.co_filename or (
                source.co_name == "<module>" and os.path.isfile(source.co_filename)
            )
        return isinstance(source, str) and bool(SYMPY_SOURCE.fullmatch(source.strip()))

    def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not (flags & ast.PyCF_ONLY_AST or allowed(source)):
            violations.append(f"compile({source!r:.200})")
            raise RuntimeError("compile refused")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def guarded_exec(code, *args, **kwargs):
        if not allowed(code):
            violations.append(f"exec({code!r:.200})")
            raise RuntimeError("exec refused")
        return real_exec(code, *args, **kwargs)

    def guarded_eval(source, *args, **kwargs):
        if not (sympy_codegen and _importing()):
            violations.append(f"eval({source!r:.200})")
            raise RuntimeError("eval refused")
        return real_eval(source, *args, **kwargs)

    def recorder(name):
        def refuse(*args, **kwargs):
            violations.append(f"{name}{args!r:.200}")
            raise RuntimeError(f"{name} refused")

        return refuse

    builtins.compile, builtins.exec = guarded_compile, guarded_exec
    builtins.eval = guarded_eval
    os.system, os.popen, subprocess.Popen = recorder("system"), recorder("popen"), recorder("Popen")
    try:
        yield
    finally:
        for (owner, name), value in saved.items():
            setattr(owner, name, value)


def _try(text: str) -> Formula | None:
    """Check, then compile, each under its guard; only FormulaError may come out."""
    violations: list[str] = []
    with guarded(violations, sympy_codegen=False):
        try:
            parse_formula(text)
            accepted = True
        except FormulaError as error:
            assert str(error)
            accepted = False
    assert not violations, violations
    with guarded(violations, sympy_codegen=True):
        try:
            formula = compile_formula(text)
        except FormulaError as error:
            assert str(error)
            formula = None
    assert not violations, violations
    assert accepted or formula is None
    return formula


def _evaluates_quietly(formula: Formula) -> None:
    points = np.random.default_rng(0).uniform(-3, 3, size=(7, 2))
    points[0] = 0.0
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        assert formula.loss(points).shape == (7,)
        assert formula.grad(points).shape == (7, 2)
        assert formula.hess(points).shape == (7, 2, 2)


TOKENS = [
    "x",
    "y",
    "pi",
    "e",
    "1",
    "2.5",
    "1e3",
    "0",
    "+",
    "-",
    "*",
    "/",
    "**",
    "(",
    ")",
    ",",
    "sin",
    "log",
    "sqrt",
    "abs",
    "min",
    "max",
    "arctan",
    " ",
    ".",
    "__class__",
    "[",
    "]",
    "'",
    '"',
    "lambda",
    ":",
    "for",
    "in",
    "os",
    "import",
    "__import__",
    "%",
    "=",
    "\n",
    "9**9**9",
    "if",
    "else",
    "{",
    "}",
    "@",
    "not",
    "open",
    "eval",
    "exec",
    "λ",
    "\\",
    "#",
]
RANDOM_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.text(alphabet="xy()+-*/.,0123456789e", min_size=400, max_size=700),
)


@pytest.fixture(scope="module")
def warmed_up():
    """sympy and lambdify's import of numpy are loaded before anything is guarded."""
    compile_formula("x + y")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=RANDOM_TEXT)
def test_random_text_never_crashes_and_never_runs(warmed_up, text):
    formula = _try(text)
    if formula is not None:
        _evaluates_quietly(formula)


NUMBERS = st.one_of(
    st.integers(0, 12).map(str), st.floats(0.01, 20.0).map(lambda value: f"{value:.3g}")
)
VALID_LEAVES = st.one_of(st.sampled_from(["x", "y", "pi", "e"]), NUMBERS)
UNARY = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh", "arctan"]


def _valid_nodes(children):
    return st.one_of(
        st.tuples(children, st.sampled_from("+-*/"), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.integers(-3, 4)).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(children, st.sampled_from(["x", "y", "0.5"])).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        children.map(lambda c: f"-{c}"),
    )


VALID_FORMULAS = st.recursive(VALID_LEAVES, _valid_nodes, max_leaves=12)

BAD_LEAVES = st.sampled_from(
    [
        "os",
        "__import__",
        "'s'",
        "x.__class__",
        "x[0]",
        "(lambda: 1)",
        "open",
        "True",
        "1j",
        "{}",
        "...",
        "[i for i in x]",
        "1e999",
        "sum",
        "x.real",
        "f'{x}'",
        "None",
    ]
)


def _any_nodes(children):
    return st.one_of(
        _valid_nodes(children),
        st.tuples(
            children, st.sampled_from(["%", "//", "@", "**", "<", "and", "|", "^"]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(
            st.sampled_from(["open", "eval", "getattr", "sin", "max", "x"]),
            st.lists(children, max_size=3),
        ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        children.map(lambda c: f"({c}).__dict__"),
        children.map(lambda c: f"({c})[0]"),
    )


ANY_FORMULAS = st.recursive(st.one_of(VALID_LEAVES, BAD_LEAVES), _any_nodes, max_leaves=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_FORMULAS)
def test_random_syntax_trees_never_crash_and_never_run(warmed_up, text):
    formula = _try(text)
    if formula is not None:
        _evaluates_quietly(formula)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=VALID_FORMULAS)
def test_valid_formulas_build_and_compute_what_they_say(warmed_up, text):
    """The tree walk builds exactly what sympy's own parser builds from the same (generated,
    trusted) text, and the numpy loss and gradient agree with sympy evaluating it at 30
    digits: NaN exactly where its value is not real."""
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    formula = _try(text)
    if formula is None:  # e.g. 1/(x - x): undefined everywhere, refused with a reason
        return
    x, y = sympy.symbols("x y", real=True)
    assert formula.sympy == parse_expr(text, local_dict=_sympy_names(x, y))
    points = np.random.default_rng(1).uniform(0.2, 2.0, size=(3, 2))
    loss, gradient = formula.loss(points), formula.grad(points)
    derivatives = [sympy.diff(formula.sympy, symbol) for symbol in (x, y)]
    for row, (u, v) in enumerate(points):
        values = {x: u, y: v}
        exact = _exact(formula.sympy, values)
        if exact is None:
            continue
        if exact.imag != 0:
            assert np.isnan(loss[row]) and np.isnan(gradient[row]).all()
            continue
        assert loss[row] == pytest.approx(exact.real, rel=1e-7, abs=1e-12)
        for column, derivative in enumerate(derivatives):
            slope = _exact(derivative, values)
            if slope is not None and slope.imag == 0:
                assert gradient[row, column] == pytest.approx(slope.real, rel=1e-6, abs=1e-9)


def _exact(expression, values) -> complex | None:
    """sympy's own value at 30 digits, or None where it is infinite or too large to
    compare against float arithmetic."""
    try:
        value = complex(expression.evalf(30, subs=values))
    except (TypeError, ValueError, OverflowError):
        return None
    if not (np.isfinite(value.real) and np.isfinite(value.imag)) or abs(value) > 1e6:
        return None
    return value


def _sympy_names(x, y) -> dict:
    import sympy

    return {
        "x": x,
        "y": y,
        "e": sympy.E,
        "pi": sympy.pi,
        "arctan": sympy.atan,
        "abs": sympy.Abs,
        "min": sympy.Min,
        "max": sympy.Max,
    }


# ---- derivatives ----------------------------------------------------------------------------

SMOOTH = [
    "x**2 + 10*y**2",
    "(1 - x)**2 + 100*(y - x**2)**2",
    "sin(x)*cos(y) + 0.1*(x**2 + y**2)",
    "exp(-(x**2 + y**2)/2)",
    "log(1 + x**2 + y**2)",
    "sqrt(1 + x**2*y**2)",
    "tanh(x*y) + sinh(x)/cosh(y)",
    "arctan(x - 2*y)",
    "x**y",
    "pi*x + e*y - tan(x/3)",
    "1/(x**2 + y**2 + 1) + x*y**3 - 2.5*x/(1 + y**2)",
]
KINKED = "abs(x - y) + max(x, y)*min(x, 2*y)"


def _central(function, points, step=1e-6):
    columns = []
    for axis in range(2):
        shift = np.zeros(2)
        shift[axis] = step
        columns.append((function(points + shift) - function(points - shift)) / (2 * step))
    return np.stack(columns, axis=-1)


def _points(count=12):
    points = np.random.default_rng(2).uniform(0.3, 1.8, size=(count, 2))
    # Keep clear of the kinks of KINKED, where no derivative exists.
    keep = (np.abs(points[:, 0] - points[:, 1]) > 1e-2) & (
        np.abs(points[:, 0] - 2 * points[:, 1]) > 1e-2
    )
    return points[keep]


@pytest.mark.parametrize("text", [*SMOOTH, KINKED])
def test_derivatives_match_central_differences(text):
    formula = compile_formula(text)
    points = _points()
    np.testing.assert_allclose(
        formula.grad(points), _central(formula.loss, points), rtol=1e-6, atol=1e-6
    )
    hessian = formula.hess(points)
    np.testing.assert_allclose(hessian, _central(formula.grad, points), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hessian, np.swapaxes(hessian, 1, 2), atol=1e-12)


@pytest.mark.parametrize("text", [*SMOOTH, KINKED])
def test_expression_and_derivatives_match_sympys(text):
    """The tree walk builds what sympy's own parser builds; gradient and Hessian are its
    derivatives, evaluated at points by sympy against the numpy functions."""
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    x, y = sympy.symbols("x y", real=True)
    names = {
        "x": x,
        "y": y,
        "e": sympy.E,
        "pi": sympy.pi,
        "arctan": sympy.atan,
        "abs": sympy.Abs,
        "min": sympy.Min,
        "max": sympy.Max,
    }
    reference = parse_expr(text, local_dict=names)
    formula = compile_formula(text)
    assert sympy.simplify(formula.sympy - reference) == 0
    points = _points(4)
    gradient, hessian = formula.grad(points), formula.hess(points)
    for row, (u, v) in enumerate(points):
        values = {x: u, y: v}
        for i, a in enumerate((x, y)):
            first = float(sympy.diff(reference, a).evalf(30, subs=values))
            assert gradient[row, i] == pytest.approx(first, rel=1e-10, abs=1e-12)
            for j, b in enumerate((x, y)):
                second = float(sympy.diff(reference, a, b).evalf(30, subs=values))
                assert hessian[row, i, j] == pytest.approx(second, rel=1e-10, abs=1e-12)


def test_constant_and_linear_formulas_broadcast():
    points = np.random.default_rng(3).normal(size=(5, 2))
    constant = compile_formula("3")
    np.testing.assert_array_equal(constant.loss(points), np.full(5, 3.0))
    np.testing.assert_array_equal(constant.grad(points), np.zeros((5, 2)))
    np.testing.assert_array_equal(constant.hess(points), np.zeros((5, 2, 2)))
    linear = compile_formula("2*x - y/4")
    np.testing.assert_array_equal(linear.grad(points), np.tile([2.0, -0.25], (5, 1)))


# ---- gaps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["log(x) + y**2", "sqrt(x) + y", "x**0.5 * y", "1/x + y", "log(x - x + 0 * y + x)"]
)
def test_undefined_points_are_nan_not_errors(text):
    formula = compile_formula(text)
    points = np.array([[-1.0, 0.5], [0.0, 1.0], [2.0, 0.5]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss, grad, hess = formula.loss(points), formula.grad(points), formula.hess(points)
    if "1/x" not in text:
        assert np.isnan(loss[0]) and np.isnan(grad[0]).all() and np.isnan(hess[0]).all()
    assert np.isfinite(loss[2]) and np.isfinite(grad[2]).all() and np.isfinite(hess[2]).all()


def test_log_gap_shows_in_the_landscape(registry):
    problem = build_problem("expression", {"formula": "log(x) + y**2"}, registry=registry)
    grid = evaluate_grid(problem, resolution=33)
    negative = grid.xs <= 0
    assert np.isnan(grid.loss[:, negative]).all()
    assert np.isfinite(grid.loss[:, ~negative]).all()


# ---- the model ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "sin(x)*cos(y) + 0.1*(x**2 + y**2)", KINKED])
def test_expression_model_passes_the_conformance_kit(registry, text):
    settings = None if text is None else {"formula": text}
    check_model(registry.models["expression"], registry, settings=settings)


def test_expression_model_settings(registry):
    problem = build_problem(
        "expression",
        {
            "formula": "(x - 1)**2 + (y + 2)**2",
            "xmin": -1,
            "xmax": 3,
            "ymin": -4,
            "ymax": 0,
            "x0": 2.5,
            "y0": -0.5,
        },
        registry=registry,
    )
    assert problem.bounds == ((-1.0, 3.0), (-4.0, 0.0))
    np.testing.assert_array_equal(problem.start, [2.5, -0.5])
    np.testing.assert_allclose(problem.grad(np.array([[1.0, -2.0]])), [[0.0, 0.0]])
    default = build_problem("expression", registry=registry)
    np.testing.assert_allclose(default.hess(np.zeros((1, 2))), [[[2.0, 0.0], [0.0, 20.0]]])


def test_bad_formula_reaches_the_user_as_an_engine_error(registry):
    with pytest.raises(EngineError, match=r"formula: column 5: attribute access 'os.system'"):
        build_problem("expression", {"formula": "x + os.system('ls')"}, registry=registry)
    with pytest.raises(EngineError, match="xmin"):
        build_problem("expression", {"xmin": 3.0, "xmax": 1.0}, registry=registry)
    with pytest.raises(EngineError, match="500"):
        build_problem("expression", {"formula": "x+" * 300 + "y"}, registry=registry)
