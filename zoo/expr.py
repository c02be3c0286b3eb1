"""Typed-in objectives: text → validated syntax tree → sympy → numpy with exact derivatives.

A formula in ``x`` and ``y`` is parsed by ``ast`` (``mode="eval"``, which only builds a
tree) and checked against a whitelist before anything else happens to it; the text is never
run.  The sympy expression is then built by walking the checked tree, so no user text ever
reaches ``eval``, ``exec``, ``compile`` or ``sympify``.  sympy differentiates it and
``lambdify`` turns the loss, gradient and Hessian into batched numpy functions that return
NaN where the formula is undefined instead of raising.

``min`` and ``max`` are not sympy's ``Min``/``Max`` while differentiating: their derivatives
are ``Heaviside(a − Max(…))`` terms whose ``lambdify`` with common-subexpression elimination
grows with the square of the argument count and takes minutes for eight arguments.  Here
they are functions of their own whose derivative with respect to argument i is "argument i's
share of the extreme" (1 where it alone is the largest, 1/k where k tie, 0 elsewhere),
evaluated by an argmax in numpy; their own derivative is 0 almost everywhere.  Compiling
has a budget (``COMPILE_BUDGET``) past which the formula is refused.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from zoo import guard

#: Longest formula accepted, in characters.
MAX_LENGTH = 500
#: Deepest nesting of the syntax tree accepted.
MAX_DEPTH = 40
#: Largest |exponent| accepted where the exponent is a constant.
MAX_EXPONENT = 100
#: Largest number of decimal digits a constant power may produce (9**100 has 96).
MAX_POWER_DIGITS = 1000
#: Seconds that differentiating and vectorising a formula may take before it is refused;
#: loading sympy the first time is not counted.
COMPILE_BUDGET = 10.0
#: Most arguments of a min or max that sympy is asked to simplify (it compares them pairwise).
_SYMPY_EXTREME_ARGS = 8

VARIABLES = ("x", "y")
CONSTANTS = ("pi", "e")
#: Functions of one argument, by the name a user types, with their sympy names.
UNARY_FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "abs": "Abs",
    "tanh": "tanh",
    "sinh": "sinh",
    "cosh": "cosh",
    "arctan": "atan",
}
#: Functions of two or more arguments.
VARIADIC_FUNCTIONS = {"min": "Min", "max": "Max"}
FUNCTIONS = (*UNARY_FUNCTIONS, *VARIADIC_FUNCTIONS)

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
#: How a refused kind of syntax is named in a message.
_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison",
    ast.BoolOp: "a logical operator",
    ast.IfExp: "a conditional",
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Set: "a set",
    ast.Dict: "a dictionary",
    ast.NamedExpr: "an assignment",
    ast.JoinedStr: "an f-string",
    ast.Starred: "unpacking",
    ast.keyword: "a keyword argument",
}
_SNIPPET = 40


class FormulaError(ValueError):
    """A formula is refused; the message names the offending piece and its column."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(f"column {column}: {message}" if column else message)
        self.column = column
        self.reason = message


def _column(text: str, lineno: int, col_offset: int) -> int:
    """1-based character column in the whole text of ``ast``'s (line, UTF-8 byte offset)."""
    lines = text.split("\n")
    before = sum(len(line) + 1 for line in lines[: lineno - 1])
    line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
    return before + len(line.encode("utf-8")[:col_offset].decode("utf-8", "replace")) + 1


def _snippet(text: str, node: ast.AST) -> str:
    piece = ast.get_source_segment(text, node) or type(node).__name__
    piece = " ".join(piece.split())
    return piece if len(piece) <= _SNIPPET else piece[: _SNIPPET - 1] + "…"


class _Checker:
    """Walks a parsed formula, refusing the first piece (leftmost, outermost) not allowed."""

    def __init__(self, text: str) -> None:
        self.text = text

    def refuse(self, node: ast.AST, message: str) -> FormulaError:
        column = (
            _column(self.text, node.lineno, node.col_offset) if hasattr(node, "lineno") else None
        )
        return FormulaError(message, column)

    def check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            self.check_constant(node)
        elif isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self.check(node.operand)
        elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            self.check(node.left)
            if isinstance(node.op, ast.Pow):
                self.check_power(node)
            else:
                self.check(node.right)
        elif isinstance(node, (ast.BinOp, ast.UnaryOp)):
            symbol = self.operator_text(node)
            hint = "; a power is written **" if symbol == "^" else ""
            raise self.operator_error(
                node, f"the operator '{symbol}' is not allowed (use + - * / **{hint})"
            )
        elif isinstance(node, ast.Call):
            self.check_call(node)
        else:
            what = _DESCRIPTIONS.get(type(node), type(node).__name__.lower())
            raise self.refuse(node, f"{what} '{_snippet(self.text, node)}' is not allowed")

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str):
            raise self.refuse(node, f"a string '{_snippet(self.text, node)}' is not allowed")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(node, f"'{_snippet(self.text, node)}' is not a real number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.refuse(node, f"the number '{_snippet(self.text, node)}' is too large")
        if isinstance(value, int) and value.bit_length() > 1000:  # float() may overflow
            try:
                float(value)
            except OverflowError:
                raise self.refuse(
                    node, f"the number '{_snippet(self.text, node)}' is too large (over 1.8e308)"
                ) from None

    def check_name(self, node: ast.Name) -> None:
        if node.id in VARIABLES or node.id in CONSTANTS:
            return
        if node.id in FUNCTIONS:
            raise self.refuse(node, f"'{node.id}' is a function: write {node.id}(…)")
        raise self.refuse(
            node,
            f"the name '{node.id}' is not allowed (use x, y, pi, e and {', '.join(FUNCTIONS)})",
        )

    def check_power(self, node: ast.BinOp) -> None:
        # A power inside an exponent is what makes 9**9**9 astronomically large.
        if any(
            isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Pow)
            for inner in ast.walk(node.right)
        ):
            raise self.refuse(
                node,
                f"the exponent tower '{_snippet(self.text, node)}' is not "
                "allowed (write exp(…) or simplify the exponent)",
            )
        self.check(node.right)
        exponent = _constant_value(node.right)
        if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
            raise self.refuse(
                node.right,
                f"the exponent '{_snippet(self.text, node.right)}' "
                f"is too large (at most {MAX_EXPONENT} in size)",
            )

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            self.check(func)
            raise self.refuse(node, f"the call '{_snippet(self.text, node)}' is not allowed")
        name = func.id
        if name not in FUNCTIONS:
            what = "is not a function" if name in VARIABLES + CONSTANTS else "is not allowed"
            raise self.refuse(
                node,
                f"the call '{_snippet(self.text, node)}' {what} "
                f"(functions: {', '.join(FUNCTIONS)})",
            )
        if node.keywords:
            keyword = node.keywords[0]
            raise self.refuse(
                keyword, f"a keyword argument '{_snippet(self.text, keyword)}' is not allowed"
            )
        for argument in node.args:
            self.check(argument)
        count = len(node.args)
        if name in UNARY_FUNCTIONS and count != 1:
            raise self.refuse(
                node, f"{name} takes one argument, got {count} in '{_snippet(self.text, node)}'"
            )
        if name in VARIADIC_FUNCTIONS and count < 2:
            raise self.refuse(
                node,
                f"{name} takes two or more arguments, got {count} in '{_snippet(self.text, node)}'",
            )

    def operator_text(self, node: ast.AST) -> str:
        if isinstance(node, ast.BinOp):
            between = self.text_between(node.left, node.right)
            return between.strip().strip("()").strip() or type(node.op).__name__
        return {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)

    def text_between(self, left: ast.AST, right: ast.AST) -> str:
        start = _column(self.text, left.end_lineno, left.end_col_offset) - 1
        stop = _column(self.text, right.lineno, right.col_offset) - 1
        return self.text[start:stop]

    def operator_error(self, node: ast.AST, message: str) -> FormulaError:
        """Point at the operator itself where it can be found, not at its left operand."""
        if isinstance(node, ast.BinOp):
            start = _column(self.text, node.left.end_lineno, node.left.end_col_offset) - 1
            between = self.text_between(node.left, node.right)
            skip = len(between) - len(between.lstrip().lstrip(")").lstrip())
            return FormulaError(message, start + skip + 1)
        return self.refuse(node, message)


def _constant_value(node: ast.AST) -> float | None:
    """The value of an exponent that holds no x or y (towers already refused), else None."""
    if isinstance(node, ast.Constant):
        try:
            return float(node.value)
        except OverflowError:
            return math.inf
    if isinstance(node, ast.Name):
        return {"pi": math.pi, "e": math.e}.get(node.id)
    if isinstance(node, ast.UnaryOp):
        value = _constant_value(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _constant_value(node.left), _constant_value(node.right)
        if left is None or right is None:
            return None
        with np.errstate(all="ignore"):
            operands = np.float64(left), np.float64(right)
            operator = {
                ast.Add: np.add,
                ast.Sub: np.subtract,
                ast.Mult: np.multiply,
                ast.Div: np.divide,
            }[type(node.op)]
            return float(operator(*operands))
    if isinstance(node, ast.Call):
        values = [_constant_value(argument) for argument in node.args]
        if any(value is None for value in values):
            return None
        function = {"abs": np.abs, "arctan": np.arctan, "min": np.min, "max": np.max}.get(
            node.func.id, getattr(np, node.func.id, None)
        )
        with np.errstate(all="ignore"):
            return float(function(values if node.func.id in VARIADIC_FUNCTIONS else values[0]))
    return None


def _too_deep(tree: ast.AST) -> ast.AST | None:
    """The first node nested deeper than ``MAX_DEPTH``, found without recursion.

    A chain of one operator (``a + b + c + …``, which the parser nests to the left) counts
    as one level, as it reads: a plain sum of many terms is not deep."""
    stack = [(tree, 0, None)]
    while stack:
        node, depth, parent = stack.pop()
        if _chained(parent, node):
            depth -= 1
        if depth > MAX_DEPTH:
            return node
        children = [c for c in ast.iter_child_nodes(node) if hasattr(c, "lineno")]
        stack.extend((child, depth + 1, node) for child in reversed(children))
    return None


def _chained(parent: ast.AST | None, node: ast.AST) -> bool:
    """``node`` is the left operand of ``parent`` under the same + − or × ÷ operator."""
    groups = ((ast.Add, ast.Sub), (ast.Mult, ast.Div))
    if not (isinstance(parent, ast.BinOp) and isinstance(node, ast.BinOp)):
        return False
    if parent.left is not node:
        return False
    return any(isinstance(parent.op, g) and isinstance(node.op, g) for g in groups)


def parse_formula(text: str) -> ast.Expression:
    """The checked syntax tree of ``text``, or ``FormulaError`` naming what is refused.

    Only ``ast.parse(mode="eval")`` ever sees the text: it builds a tree and runs nothing.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula is text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"the formula is {len(text)} characters long, over the limit of {MAX_LENGTH}",
            MAX_LENGTH + 1,
        )
    if not text.strip():
        raise FormulaError("the formula is empty")
    if "\x00" in text:
        raise FormulaError("a null character is not allowed", text.index("\x00") + 1)
    try:
        with warnings.catch_warnings():
            # The parser warns about odd literals (1e3x); the error that follows says more.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        reason = (error.msg or "invalid syntax").replace("'", "")
        if not error.lineno:
            raise FormulaError(reason) from None
        column = _column(text, error.lineno, 0) + max(error.offset or 1, 1) - 1
        if not error.offset or column > len(text):
            reason, column = "the formula ends too early", len(text) + 1
        raise FormulaError(reason, column) from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise FormulaError(f"cannot be read: {error}") from None
    deep = _too_deep(tree)
    if deep is not None:
        raise FormulaError(
            f"the formula is nested too deeply (over {MAX_DEPTH} levels) at "
            f"'{_snippet(text, deep)}'",
            _column(text, deep.lineno, deep.col_offset),
        )
    _Checker(text).check(tree.body)
    return tree


@dataclass(frozen=True, eq=False)
class Formula:
    """A compiled formula: batched ``loss (B,2)->(B,)``, ``grad``, ``hess`` in numpy."""

    text: str
    sympy: Any
    gradient: tuple[Any, Any]
    hessian: tuple[tuple[Any, Any], tuple[Any, Any]]
    _loss: Any
    _grad: Any
    _hess: Any

    def loss(self, points: np.ndarray) -> np.ndarray:
        """(B, 2) -> (B,); NaN where the formula is undefined."""
        u, v = _columns(points)
        return _evaluate(self._loss, u, v, ())

    def grad(self, points: np.ndarray) -> np.ndarray:
        """(B, 2) -> (B, 2)."""
        u, v = _columns(points)
        return _evaluate(self._grad, u, v, (2,))

    def hess(self, points: np.ndarray) -> np.ndarray:
        """(B, 2) -> (B, 2, 2)."""
        u, v = _columns(points)
        return _evaluate(self._hess, u, v, (2, 2))


def _columns(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points, dtype=float)
    return points[:, 0], points[:, 1]


def _evaluate(function: Any, u: np.ndarray, v: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Call a lambdified ``[loss, *values]`` function and return the values as floats of
    shape (B, *shape), NaN where the formula is undefined: complex, non-finite, raising
    for want of a real value, or where the loss itself is undefined (the derivative of an
    undefined function is undefined, however finite its formula, like 1/x for log x)."""
    size = len(u)
    try:
        with np.errstate(all="ignore"):
            parts = function(u, v)
            values = np.stack([np.broadcast_to(np.asarray(part), (size,)) for part in parts], -1)
    except (ArithmeticError, ValueError, TypeError):
        return np.full((size, *shape), np.nan)
    if np.iscomplexobj(values):
        values = np.where(values.imag == 0, values.real, np.nan)
    values = np.array(values, dtype=float)
    values[~np.isfinite(values)] = np.nan
    values[np.isnan(values[:, 0])] = np.nan
    if not shape:
        return values[:, 0]
    return values[:, 1:].reshape(size, *shape)


def _sympy_tree(text: str, tree: ast.Expression) -> Any:
    """Build the sympy expression of a checked tree by walking it: no text is evaluated."""
    import sympy

    checker = _Checker(text)
    x, y = sympy.symbols("x y", real=True)
    names = {"x": x, "y": y, "pi": sympy.pi, "e": sympy.E}
    functions = {**UNARY_FUNCTIONS, **VARIADIC_FUNCTIONS}
    largest, smallest, _ = _extremes()
    extremes = {"max": largest, "min": smallest}
    undefined = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)

    def power(node: ast.BinOp, base: Any, exponent: Any) -> Any:
        # sympy folds constant powers exactly; bound them before it tries 9**(x - x + 10**9).
        if exponent.is_number and not abs(complex(exponent.evalf(15))) <= MAX_EXPONENT:
            raise checker.refuse(
                node.right,
                f"the exponent '{_snippet(text, node.right)}' "
                f"is too large (at most {MAX_EXPONENT} in size)",
            )
        if base.is_number and exponent.is_number and base != 0:
            digits = abs(complex(exponent.evalf(15))) * abs(
                complex(sympy.log(abs(base), 10).evalf(15))
            )
            if not digits <= MAX_POWER_DIGITS:
                raise checker.refuse(node, f"the number '{_snippet(text, node)}' is too large")
        return sympy.Pow(base, exponent)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            value = node.value
            result = sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
        elif isinstance(node, ast.Name):
            result = names[node.id]
        elif isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            result = -operand if isinstance(node.op, ast.USub) else operand
        elif isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow):
                result = power(node, left, right)
            else:
                result = {
                    ast.Add: sympy.Add,
                    ast.Sub: lambda a, b: a - b,
                    ast.Mult: sympy.Mul,
                    ast.Div: lambda a, b: a / b,
                }[type(node.op)](left, right)
        else:  # a call, checked to be one of FUNCTIONS
            name = node.func.id
            if name in VARIADIC_FUNCTIONS:
                function = extremes[name]
            else:
                function = getattr(sympy, functions[name])
            result = function(*[walk(argument) for argument in node.args])
        if result.has(*undefined):
            raise checker.refuse(node, f"'{_snippet(text, node)}' is undefined")
        return result

    return walk(tree.body), (x, y)


@cache
def _extremes() -> tuple[Any, Any, Any]:
    """The sympy functions ``ZooMax``, ``ZooMin`` and ``ZooShare`` (see the module notes),
    made once, on first use, so that importing this module does not import sympy."""
    import sympy

    class ZooShare(sympy.Function):
        """``ZooShare(sign, i, *args)``: argument i's share of the max (sign 1) or min
        (sign −1) of ``args``; piecewise constant, so its derivative is 0 (a delta at ties)."""

        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.S.Zero

    class _Extreme(sympy.Function):
        sign = 1
        exact: Any = None

        @classmethod
        def eval(cls, *args: Any) -> Any:
            if all(argument.is_number for argument in args):
                return cls.exact(*args)  # constants fold exactly, as sympy's own
            if len(args) > _SYMPY_EXTREME_ARGS:
                return None
            # sympy drops arguments that can never be the extreme (Min(-1, exp(y)) = -1).
            exact = cls.exact(*args)
            if not isinstance(exact, cls.exact):
                return exact
            if len(exact.args) < len(args):
                return cls(*exact.args)
            return None

        def fdiff(self, argindex: int = 1) -> Any:
            return ZooShare(self.sign, argindex - 1, *self.args)

    class ZooMax(_Extreme):
        sign, exact = 1, sympy.Max

    class ZooMin(_Extreme):
        sign, exact = -1, sympy.Min

    return ZooMax, ZooMin, ZooShare


def _numpy_largest(*args: Any) -> Any:
    return np.max(np.stack(np.broadcast_arrays(*args)), axis=0)


def _numpy_smallest(*args: Any) -> Any:
    return np.min(np.stack(np.broadcast_arrays(*args)), axis=0)


def _numpy_share(sign: Any, index: Any, *args: Any) -> Any:
    """1 where argument ``index`` is the only extreme, 1/k where k arguments tie for it."""
    values = np.stack(np.broadcast_arrays(*args)) * sign
    ties = values == values.max(axis=0)
    return ties[int(index)] / ties.sum(axis=0)


_NUMPY_EXTREMES = {"ZooMax": _numpy_largest, "ZooMin": _numpy_smallest, "ZooShare": _numpy_share}


def _as_sympy_extremes(expression: Any) -> Any:
    """The expression with sympy's own ``Max``/``Min`` in place of ours, for showing it."""
    import sympy

    largest, smallest, _ = _extremes()

    def rebuild(exact: Any) -> Any:
        # sympy's Max compares its arguments pairwise: seconds for thirty of them.
        return lambda *args: exact(*args, evaluate=len(args) <= _SYMPY_EXTREME_ARGS)

    return expression.replace(largest, rebuild(sympy.Max)).replace(smallest, rebuild(sympy.Min))


def _numpy_function(symbols: Any, expressions: Any) -> Any:
    """lambdify with DiracDelta (the second derivative of abs) taken as 0, the value it has
    almost everywhere, since numpy has no delta."""
    import sympy

    expressions = [e.replace(sympy.DiracDelta, lambda *_: sympy.S.Zero) for e in expressions]
    return sympy.lambdify(symbols, expressions, modules=[_NUMPY_EXTREMES, "numpy"], cse=True)


def compile_formula(text: str, budget: float | None = None) -> Formula:
    """Parse, check, differentiate and vectorise ``text``; ``FormulaError`` if refused,
    also when that takes longer than ``budget`` seconds (``COMPILE_BUDGET``).

    Compiled and refused formulas are kept (by text), since a model is rebuilt on every
    settings change.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula is text, not {type(text).__name__}")
    seconds = COMPILE_BUDGET if budget is None else budget
    known = _COMPILED.get(text)
    if isinstance(known, Formula):
        return known
    if isinstance(known, FormulaError) and not (
        isinstance(known, _TooSlow) and known.budget < seconds
    ):
        raise FormulaError(known.reason, known.column)
    _load_sympy()
    try:
        result: Formula | FormulaError = guard.call_within(
            seconds, guard.Origin("formula", text), "compile", _compile_now, text
        )
    except guard.PluginTimeout:
        result = _TooSlow(seconds)
    except guard.PluginFault as fault:
        cause = fault.__cause__
        result = (
            cause
            if isinstance(cause, FormulaError)
            else FormulaError(f"cannot be differentiated: {fault.reason}")
        )
    if len(_COMPILED) >= _MOST_KEPT:
        _COMPILED.pop(next(iter(_COMPILED)), None)
    _COMPILED[text] = result
    if isinstance(result, FormulaError):
        raise FormulaError(result.reason, result.column)
    return result


@cache
def _load_sympy() -> None:
    """Import sympy and its numpy printer before a formula's clock starts: on a cold disk
    that takes seconds, which are not the formula's fault."""
    import sympy

    _numpy_function([sympy.Symbol("x")], [sympy.Symbol("x") ** 2])


def is_compiled(text: str) -> bool:
    """Whether ``text`` was compiled or refused already, so that doing it again is quick."""
    return text in _COMPILED


class _TooSlow(FormulaError):
    def __init__(self, budget: float) -> None:
        super().__init__(f"the formula takes more than {budget:g} s to differentiate; simplify it")
        self.budget = budget


#: Formulas compiled and refused, by text, since a model is rebuilt on every settings
#: change; a refusal for taking too long is kept with its budget.
_COMPILED: dict[str, Formula | FormulaError] = {}
_MOST_KEPT = 64


def _compile_now(text: str) -> Formula:
    tree = parse_formula(text)
    try:
        expression, symbols = _sympy_tree(text, tree)
        import sympy

        gradient = tuple(sympy.diff(expression, s) for s in symbols)
        hessian = tuple(tuple(sympy.diff(g, s) for s in symbols) for g in gradient)
        # The loss rides along with every derivative to mark where they are undefined.
        loss = _numpy_function(symbols, [expression])
        grad = _numpy_function(symbols, [expression, *gradient])
        hess = _numpy_function(symbols, [expression, *(h for row in hessian for h in row)])
    except FormulaError:
        raise
    except Exception as error:  # sympy refusing a corner case must not crash the caller
        raise FormulaError(f"cannot be differentiated: {error}") from None
    _refuse_if_nowhere_real(text, loss)
    return Formula(
        text=text,
        sympy=_as_sympy_extremes(expression),
        gradient=gradient,
        hessian=hessian,
        _loss=loss,
        _grad=grad,
        _hess=hess,
    )


def _refuse_if_nowhere_real(text: str, loss: Any) -> None:
    """Refuse a formula that has no real value anywhere on a wide grid (``sqrt(-1)``):
    it would draw nothing and every run on it would stop at once."""
    ticks = np.concatenate([-np.logspace(3, -3, 20), [0.0], np.logspace(-3, 3, 20)])
    u, v = (axis.ravel() for axis in np.meshgrid(ticks, ticks))
    values = _evaluate(loss, u, v, ())
    if np.isnan(values).all():
        raise FormulaError(
            "the formula has no real value anywhere (it is undefined or complex at every point "
            "tried, from -1000 to 1000 in x and y)"
        )


__all__ = [
    "COMPILE_BUDGET",
    "MAX_LENGTH",
    "Formula",
    "FormulaError",
    "compile_formula",
    "is_compiled",
    "parse_formula",
]
