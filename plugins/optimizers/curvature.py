"""Curvature methods: Newton and its relatives, quasi-Newton, conjugate gradients, line searches.

Line searches decide per run how many points to try, so the strong-Wolfe methods (L-BFGS,
BFGS, CG) step their runs one row at a time; a run's path is then the same alone or in a
batch.  Armijo backtracking is vectorised: every row is tried at each shrink until all are
satisfied, and each row keeps its own first acceptable step.
"""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl
from zoo_plugins.optimizers.kernels import fused

ARMIJO_C1 = 1e-4
MAX_BACKTRACKS = 40
#: Pairs with yᵀs at or below this are not stored (torch's threshold).
CURVATURE_THRESHOLD = 1e-10
#: Levenberg–Marquardt does not step when it predicts less than this fraction of F.
NEGLIGIBLE_DECREASE = 1e-15
#: The largest D × D float64 matrix a method may ask for, per run (256 MiB: D = 5,792).
MATRIX_BYTES = 2**28


def _counter(x: np.ndarray) -> np.ndarray:
    return np.zeros(len(x), dtype=np.int64)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """aᵀb summed left to right without fused multiply-adds, as torch's CPU dot does.

    A numpy scalar, so that a division by a zero product gives inf or nan (and the run
    diverges) instead of raising."""
    return np.sum(a * b)


def _solve(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Batched ``matrix⁻¹ vector``; a singular row falls back to its pseudo-inverse alone."""
    try:
        return np.linalg.solve(matrix, vector[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(vector)
        for row in range(len(vector)):
            try:
                out[row] = np.linalg.solve(matrix[row], vector[row])
            except np.linalg.LinAlgError:
                out[row] = np.linalg.pinv(matrix[row]) @ vector[row]
        return out


def backtrack(problem, x, loss, slope, direction, step, shrink=0.5):
    """Armijo: the first of step, step·shrink, … with f(x + a·p) ≤ f(x) + c₁·a·slope.

    Returns a ``(B, 1)`` column; 0 where no step was acceptable (p not a descent direction).
    """
    step = np.array(step, dtype=float, copy=True)
    accepted = np.zeros_like(step)
    done = ~(slope < 0)
    for _ in range(MAX_BACKTRACKS):
        if done.all():
            break
        pending = np.flatnonzero(~done)
        trial = np.full(len(x), np.inf)
        points = x[pending] + step[pending] * direction[pending]
        trial[pending] = problem.for_rows(pending).loss(points)
        ok = ~done & (trial <= loss + ARMIJO_C1 * step[:, 0] * slope)
        accepted[ok] = step[ok]
        done |= ok
        step = np.where(done[:, None], step, step * shrink)
    return accepted


# --------------------------------------------------------------------- strong Wolfe
def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through two points with slopes, clamped to ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # numpy scalars: coincident points give nan (the midpoint is used) instead of raising
    x1, f1, g1, x2, f2, g2 = (np.float64(v) for v in (x1, f1, g1, x2, f2, g2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(phi, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """torch.optim.LBFGS's line search (a port of minFunc's), step for step.

    ``phi(t)`` returns (loss, gradient) at x + t·d.  Brackets with cubic interpolation,
    then zooms until the strong Wolfe conditions hold.  Returns (loss, gradient, t, calls).
    """
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = phi(t)
    evals = 1
    gtd_new = _dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # Keep the trial 0.1·|bracket| inside the bracket once progress stalls at an end.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = (
                    max(bracket) - eps
                    if abs(t - max(bracket)) < abs(t - min(bracket))
                    else min(bracket) + eps
                )
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


def _line(problem, x_row: np.ndarray, d: np.ndarray):
    """φ(t) = (f, ∇f) at x + t·d for one run."""

    def phi(t):
        point = fused(t, d, x_row)[None, :]
        return float(problem.loss(point)[0]), np.asarray(problem.grad(point)[0], dtype=float)

    return phi


def _refresh(problem, x, state):
    """Loss and gradient at x for the rows whose stored values are stale (one call)."""
    f, g = state["f"].copy(), state["g"].copy()
    stale = ~state["fresh"]
    if stale.all():
        f, g = np.asarray(problem.loss(x), dtype=float), np.asarray(problem.grad(x), dtype=float)
    elif stale.any():
        rows = np.flatnonzero(stale)
        f[stale] = problem.for_rows(rows).loss(x[stale])
        g[stale] = problem.for_rows(rows).grad(x[stale])
    return f, g


def _no_progress(f, g, f_new, g_new) -> bool:
    """Neither f nor the gradient went down: f is at its rounding floor along the line, and
    since nothing changed the same search would fail again, so stop spending evaluations."""
    return not (f_new < f or (f_new == f and np.max(np.abs(g_new)) < np.max(np.abs(g))))


def _first_step(g: np.ndarray, lr: float) -> float:
    """torch's first trial step: min(1, 1/‖g‖₁)·lr, a cautious start without curvature."""
    return min(1.0, 1.0 / np.sum(np.abs(g))) * lr


def line_search_params(tolerance_grad: float, tolerance_change: float) -> tuple[Param, ...]:
    """The stopping tolerances (shared with L-BFGS) and line-search budget of BFGS and CG."""
    return (
        Param(
            "tolerance_grad",
            tolerance_grad,
            low=1e-15,
            high=1.0,
            log=True,
            doc="do not move once max|g| is this small",
        ),
        Param(
            "tolerance_change",
            tolerance_change,
            low=1e-40,
            high=1e-2,
            log=True,
            doc="smallest directional derivative and line-search bracket worth pursuing",
        ),
        Param("max_ls", 25, low=1, high=100, kind="int", doc="most evaluations per line search"),
    )


def check_matrix_size(method: str, dim: int, matrix: str, instead: str) -> None:
    """Refuse, with the numbers, a method whose D × D matrix would not fit."""
    size = 8 * dim * dim
    if size > MATRIX_BYTES:
        raise ValueError(
            f"{method} needs a {dim:,} × {dim:,} {matrix}, {size / 2**30:.1f} GB; "
            f"use {instead} or a smaller model"
        )


def _square_init(method: str, matrix: str, instead: str):
    """An init that only counts steps, after checking the method's D × D matrix fits."""

    def init(problem, x, hyper):
        check_matrix_size(method, x.shape[1], matrix, instead)
        return {"t": _counter(x)}

    return init


# --------------------------------------------------------------------- Newton
newton_init = _square_init("newton", "Hessian", "diag_newton, lbfgs")


def newton_step(problem, x, state, hyper):
    g = problem.grad(x)
    h = problem.hess(x) + hyper["damping"][:, :, None] * np.eye(x.shape[1])
    p = -_solve(h, g)
    step = hyper["lr"]
    if hyper["backtracking"]:
        slope = np.einsum("bi,bi->b", g, p)
        # Where H is not positive definite −H⁻¹g may point uphill (or be no number at
        # all); a line search along it can only refuse, so search along −g instead.
        uphill = ~(slope < 0) & (np.abs(g).max(axis=1) > 0)
        p = np.where(uphill[:, None], -g, p)
        slope = np.where(uphill, -np.einsum("bi,bi->b", g, g), slope)
        step = backtrack(problem, x, problem.loss(x), slope, p, step)
    return x + step * p, {"t": state["t"] + 1}


NEWTON = OptimizerSpec(
    name="newton",
    init=newton_init,
    step=newton_step,
    params=(
        Param("lr", 1.0, low=1e-3, high=4.0, log=True, doc="step scale η (1: the full step)"),
        Param("damping", 0.0, low=0.0, high=100.0, doc="δ added to the Hessian's diagonal"),
        Param(
            "backtracking",
            False,
            kind="bool",
            doc="halve the step until f decreases enough (Armijo)",
        ),
    ),
    needs=frozenset({"loss", "grad", "hess"}),
    label="Newton",
    family="curvature",
    doc="p = −(H + δI)⁻¹g; θ ← θ + ηp, or with backtracking the first of η, η/2, … with "
    "f(θ + ap) ≤ f(θ) + 10⁻⁴·a·gᵀp, where p = −g wherever −(H + δI)⁻¹g is not a descent "
    "direction (gᵀp ≥ 0: H not positive definite there). Without backtracking it lands on a "
    "quadratic's stationary point in one step (a saddle's too).",
    reference="Nocedal & Wright 2006, Numerical Optimization, ch. 3",
)


# --------------------------------------------------------------------- diagonal Newton
def diag_newton_step(problem, x, state, hyper):
    g = problem.grad(x)
    curvature = np.abs(np.diagonal(problem.hess(x), axis1=1, axis2=2))
    return x - hyper["lr"] * g / np.maximum(curvature, hyper["eps"]), {"t": state["t"] + 1}


DIAG_NEWTON = OptimizerSpec(
    name="diag_newton",
    init=_square_init("diag_newton", "Hessian", "lbfgs, adam"),
    step=diag_newton_step,
    params=(
        Param("lr", 1.0, low=1e-3, high=4.0, log=True, doc="step scale η (1: each axis's optimum)"),
        Param("eps", 1e-8, low=1e-12, high=1.0, log=True, doc="smallest curvature divided by"),
    ),
    needs=frozenset({"grad", "hess"}),
    label="Diagonal Newton",
    family="curvature",
    doc="θᵢ ← θᵢ − η·gᵢ/max(|Hᵢᵢ|, ε): each axis gets its own optimal step 1/Hᵢᵢ, as if the axes "
    "were rescaled so the bowl is round along them. One step on an axis-aligned quadratic; "
    "rotate the bowl and the coupling comes back.",
    reference="Becker & LeCun 1988; LeCun, Bottou, Orr & Müller 1998, Efficient BackProp",
)


# --------------------------------------------------------------------- Gauss–Newton
def gauss_newton_step(problem, x, state, hyper):
    r = problem.residuals(x)
    jacobian = problem.jacobian(x)
    h = -np.einsum("bdn,bn->bd", np.linalg.pinv(jacobian), r)
    return x + hyper["lr"] * h, {"t": state["t"] + 1}


GAUSS_NEWTON = OptimizerSpec(
    name="gauss_newton",
    init=_square_init("gauss_newton", "matrix JᵀJ", "lbfgs"),
    step=gauss_newton_step,
    params=(Param("lr", 1.0, low=1e-3, high=2.0, log=True, doc="step scale η"),),
    needs=frozenset({"residuals"}),
    label="Gauss–Newton",
    family="curvature",
    doc="Solve JᵀJh = −Jᵀr (least squares, minimum-norm h = −J⁺r); θ ← θ + ηh. Newton with "
    "the Hessian's second-derivative term dropped: exact for linear residuals, and free to "
    "cycle or overshoot when they bend.",
    reference="Gauss 1809; Björck 1996, Numerical Methods for Least Squares Problems",
)


# --------------------------------------------------------------------- Levenberg–Marquardt
def lm_init(problem, x, hyper):
    check_matrix_size("levenberg_marquardt", x.shape[1], "matrix JᵀJ", "lbfgs")
    return {"t": _counter(x), "mu": np.full(len(x), np.nan), "nu": np.full(len(x), 2.0)}


def lm_step(problem, x, state, hyper):
    r = problem.residuals(x)
    jacobian = problem.jacobian(x)
    gram = np.einsum("bnd,bne->bde", jacobian, jacobian)
    g = np.einsum("bnd,bn->bd", jacobian, r)
    diagonal = np.diagonal(gram, axis1=1, axis2=2)
    largest = np.max(diagonal, axis=1)
    mu = np.where(np.isnan(state["mu"]), hyper["tau"][:, 0] * largest, state["mu"])
    if hyper["scaling"] == "marquardt":
        # A weight with no influence would make diag(JᵀJ) singular: floor it.
        scale = np.maximum(diagonal, 1e-12 * np.maximum(largest, 1e-300)[:, None])
    else:
        scale = np.ones_like(diagonal)
    damped = gram + (mu[:, None] * scale)[:, :, None] * np.eye(x.shape[1])
    h = -_solve(damped, g)
    loss = 0.5 * np.einsum("bn,bn->b", r, r)
    r_new = problem.residuals(x + h)
    loss_new = 0.5 * np.einsum("bn,bn->b", r_new, r_new)
    predicted = 0.5 * np.einsum("bd,bd->b", h, mu[:, None] * scale * h - g)
    # Below this the measured decrease F(θ) − F(θ + h) is rounding noise: θ is as good as it gets.
    meaningful = predicted > NEGLIGIBLE_DECREASE * loss
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(meaningful, (loss - loss_new) / predicted, 0.0)
    accept = meaningful & (gain > 0) & np.isfinite(loss_new)
    reject = meaningful & ~accept
    nu = state["nu"]
    new_mu = np.where(
        accept,
        mu * np.maximum(1 / 3, 1 - (2 * gain - 1) ** 3),
        np.where(reject, np.minimum(mu * nu, 1e150), mu),
    )
    new_nu = np.where(accept, 2.0, np.where(reject, 2 * nu, nu))
    x_new = np.where(accept[:, None], x + h, x)
    return x_new, {"t": state["t"] + 1, "mu": new_mu, "nu": new_nu}


LEVENBERG_MARQUARDT = OptimizerSpec(
    name="levenberg_marquardt",
    init=lm_init,
    step=lm_step,
    params=(
        Param(
            "tau", 1e-3, low=1e-8, high=10.0, log=True, doc="initial damping μ₀ = τ·max diag(JᵀJ)"
        ),
        Param(
            "scaling",
            "marquardt",
            kind="choice",
            choices=("marquardt", "levenberg"),
            doc="damp with μ·diag(JᵀJ) (Marquardt) or μ·I (Levenberg)",
        ),
    ),
    needs=frozenset({"residuals"}),
    label="Levenberg–Marquardt",
    family="curvature",
    doc="Solve (JᵀJ + μD)h = −Jᵀr with D = diag(JᵀJ) (or I); gain ρ = (F(θ) − F(θ + h))/"
    "(½hᵀ(μDh − g)). If ρ > 0: θ ← θ + h, μ ← μ·max(⅓, 1 − (2ρ − 1)³), ν ← 2; else μ ← μν, "
    "ν ← 2ν and θ stays (as it does once the predicted decrease is below 10⁻¹⁵F). Small μ is "
    "Gauss–Newton, large μ a short gradient step.",
    reference="Levenberg 1944; Marquardt 1963; Madsen, Nielsen & Tingleff 2004 (IMM report "
    "imm3215)",
)


# --------------------------------------------------------------------- L-BFGS
#: Why an L-BFGS run ends, in the order torch.optim.LBFGS tests them (``state["stop"]``).
LBFGS_STOPS = (
    "tolerance_grad: max|g| ≤ tolerance_grad",
    "tolerance_change: the directional derivative gᵀd > −tolerance_change",
    "tolerance_change: the step max|t·d| ≤ tolerance_change",
    "tolerance_change: the loss changed by less than tolerance_change",
)
GRAD_SMALL, NOT_DOWNHILL, STEP_SMALL, LOSS_FLAT = range(1, 5)


def lbfgs_init(problem, x, hyper):
    batch, dim = x.shape
    size = hyper["history_size"]
    return {
        "t": _counter(x),
        "n_iter": _counter(x),
        "inner": _counter(x),  # iterations of the current torch step() call; 0: a new call
        "call_evals": _counter(x),  # closure calls of the current step() call
        "stop": _counter(x),
        "f": np.zeros(batch),
        "g": np.zeros_like(x),
        "d": np.zeros_like(x),
        "step": np.zeros(batch),
        "prev_g": np.zeros_like(x),
        "h_diag": np.ones(batch),
        "dirs": np.zeros((batch, size, dim)),
        "stps": np.zeros((batch, size, dim)),
        "ro": np.zeros((batch, size)),
        "size": _counter(x),
    }


def _two_loop(g, dirs, stps, ro, h_diag):
    """−H·g for the L-BFGS inverse-Hessian estimate, in torch's order of operations."""
    q = -g
    al = np.empty(len(dirs))
    for i in range(len(dirs) - 1, -1, -1):
        al[i] = _dot(stps[i], q) * ro[i]
        q = fused(-al[i], dirs[i], q)
    r = q * h_diag
    for i in range(len(dirs)):
        be_i = _dot(dirs[i], r) * ro[i]
        r = fused(al[i] - be_i, stps[i], r)
    return r


def _call_start(problem, x, state):
    """Loss and gradient where each run stands, evaluated for the runs that begin a new
    torch ``step()`` call (torch calls the closure first); the others keep theirs."""
    f, g = state["f"].copy(), state["g"].copy()
    starting = (state["inner"] == 0) & (state["stop"] == 0)
    if starting.all():
        f, g = np.asarray(problem.loss(x), dtype=float), np.asarray(problem.grad(x), dtype=float)
    elif starting.any():
        rows = np.flatnonzero(starting)
        f[starting] = problem.for_rows(rows).loss(x[starting])
        g[starting] = problem.for_rows(rows).grad(x[starting])
    return f, g, starting


def lbfgs_step(problem, x, state, hyper):
    """One inner iteration of torch.optim.LBFGS.step, which calls run back to back.

    A call makes at most ``max_iter`` iterations and ``max_eval`` closure calls; each line
    search may spend what the call has left.  A call that ends on a tolerance ends the run.
    """
    new = {name: value.copy() for name, value in state.items()}
    new["t"] = state["t"] + 1
    f, g, starting = _call_start(problem, x, state)
    x_new = x.copy()
    lr = hyper["lr"][:, 0]
    wolfe = hyper["line_search_fn"] == "strong_wolfe"
    max_iter = hyper["max_iter"]
    max_eval = hyper["max_eval"] or max_iter * 5 // 4
    for row in range(len(x)):
        if state["stop"][row]:
            continue
        fi, gi = float(f[row]), g[row]
        new["f"][row], new["g"][row] = fi, gi
        tolerance_grad = hyper["tolerance_grad"][row, 0]
        tolerance_change = hyper["tolerance_change"][row, 0]
        if starting[row]:
            new["call_evals"][row] = 1
            if np.max(np.abs(gi)) <= tolerance_grad:
                new["stop"][row] = GRAD_SMALL  # torch's step returns before iterating
                continue
        new["n_iter"][row] += 1
        new["inner"][row] += 1
        if new["n_iter"][row] == 1:
            d = -gi
            new["size"][row], new["h_diag"][row] = 0, 1.0
        else:
            y = gi - state["prev_g"][row]
            s = state["d"][row] * state["step"][row]
            ys = _dot(y, s)
            if ys > CURVATURE_THRESHOLD:
                _remember(new, row, y, s, 1.0 / ys, hyper["history_size"])
                new["h_diag"][row] = ys / _dot(y, y)
            n = new["size"][row]
            d = _two_loop(
                gi,
                new["dirs"][row, :n],
                new["stps"][row, :n],
                new["ro"][row, :n],
                new["h_diag"][row],
            )
        new["d"][row], new["prev_g"][row] = d, gi
        t = _first_step(gi, lr[row]) if new["n_iter"][row] == 1 else float(lr[row])
        new["step"][row] = t
        gtd = _dot(gi, d)
        if gtd > -tolerance_change:
            new["stop"][row] = NOT_DOWNHILL
            continue
        last = new["inner"][row] == max_iter
        if wolfe:
            # torch leaves the search its default bracket tolerance (10⁻⁹)
            f_new, g_new, t, spent = strong_wolfe(
                _line(problem.for_rows(row), x[row], d),
                t,
                d,
                fi,
                gi,
                gtd,
                max_ls=max_eval - new["call_evals"][row],
            )
            x_new[row] = fused(t, d, x[row])
        else:
            x_new[row] = fused(t, d, x[row])
            f_new, g_new, spent = fi, gi, 0
            if not last:  # torch evaluates the new point except after a call's last iteration
                point = x_new[row : row + 1]
                one = problem.for_rows(row)
                f_new, g_new, spent = float(one.loss(point)[0]), np.asarray(one.grad(point)[0]), 1
        new["f"][row], new["g"][row], new["step"][row] = f_new, g_new, t
        new["call_evals"][row] += spent
        if last or new["call_evals"][row] >= max_eval:
            new["inner"][row] = 0  # the call is over; the next step begins another
        elif np.max(np.abs(g_new)) <= tolerance_grad:
            new["stop"][row] = GRAD_SMALL
        elif np.max(np.abs(d * t)) <= tolerance_change:
            new["stop"][row] = STEP_SMALL
        elif abs(f_new - fi) < tolerance_change:
            new["stop"][row] = LOSS_FLAT
    return x_new, new


def _remember(state, row, y, s, ro, size):
    """Append a curvature pair, dropping the oldest when the memory is full."""
    n = state["size"][row]
    if n == size:
        for name in ("dirs", "stps", "ro"):
            state[name][row, :-1] = state[name][row, 1:].copy()
        n -= 1
    state["dirs"][row, n], state["stps"][row, n], state["ro"][row, n] = y, s, ro
    state["size"][row] = n + 1


LBFGS = OptimizerSpec(
    name="lbfgs",
    init=lbfgs_init,
    step=lbfgs_step,
    params=(
        Param("lr", 1.0, low=1e-3, high=4.0, log=True, doc="trial step γ"),
        Param("history_size", 100, low=1, high=200, kind="int", doc="curvature pairs remembered"),
        Param(
            "line_search_fn",
            "strong_wolfe",
            kind="choice",
            choices=("strong_wolfe", "none"),
            doc="strong-Wolfe line search, or fixed steps of γ",
        ),
        Param("max_iter", 20, low=1, high=10_000, kind="int", doc="iterations per torch step()"),
        Param(
            "max_eval",
            0,
            low=0,
            high=100_000,
            kind="int",
            doc="closure calls per torch step(), shared by its line searches (0: max_iter·5/4)",
        ),
        *line_search_params(1e-7, 1e-9)[:2],
    ),
    stop_reasons=LBFGS_STOPS,
    needs=frozenset({"loss", "grad"}),
    label="L-BFGS",
    family="curvature",
    doc="d = −Hg by the two-loop recursion over the last m pairs (s = t·d, y = Δg, kept if "
    "yᵀs > 10⁻¹⁰) with H₀ = yᵀs/yᵀy; first step d = −g, t = min(1, 1/‖g‖₁)·γ; then a "
    "strong-Wolfe line search (c₁ = 10⁻⁴, c₂ = 0.9) or θ ← θ + γd. One step is one of "
    "torch.optim.LBFGS's inner iterations, with the same iterates and evaluations, as if "
    "step() were called again and again: each call makes at most max_iter iterations and "
    "max_eval closure calls, its line searches sharing them. A run stops where torch's "
    "tolerance_grad or tolerance_change ends a call.",
    reference="Liu & Nocedal 1989; Nocedal & Wright 2006, algorithms 7.4–7.5 and 3.5–3.6",
)


# --------------------------------------------------------------------- BFGS
def bfgs_init(problem, x, hyper):
    batch, dim = x.shape
    check_matrix_size("bfgs", dim, "inverse-Hessian estimate", "lbfgs")
    return {
        "t": _counter(x),
        "fresh": np.zeros(batch, dtype=bool),
        "stalled": np.zeros(batch, dtype=bool),
        "f": np.zeros(batch),
        "g": np.zeros_like(x),
        "prev_g": np.zeros_like(x),
        "d": np.zeros_like(x),
        "step": np.zeros(batch),
        "inverse": np.broadcast_to(np.eye(dim), (batch, dim, dim)).copy(),
        "updates": _counter(x),
    }


def _searching_step(problem, x, state, hyper, direction, c2: float | None = None):
    """One iteration of a line-search method, run by run.

    ``direction(row, g, new)`` returns the search direction and first trial step for a
    run (recording what the method keeps in ``new``), or ``None`` to stay put.
    """
    new = {name: value.copy() for name, value in state.items()}
    new["t"] = state["t"] + 1
    f, g = _refresh(problem, x, state)
    x_new = x.copy()
    for row in range(len(x)):
        fi, gi = float(f[row]), g[row]
        new["f"][row], new["g"][row], new["fresh"][row] = fi, gi, True
        if np.max(np.abs(gi)) <= hyper["tolerance_grad"][row, 0]:
            continue
        if state["stalled"][row]:
            continue  # nothing has changed since the line search last found no decrease
        found = direction(row, gi, new)
        if found is None:
            continue
        d, t = found
        wolfe = {} if c2 is None else {"c2": c2[row, 0]}
        f_new, g_new, t, _ = strong_wolfe(
            _line(problem.for_rows(row), x[row], d),
            t,
            d,
            fi,
            gi,
            _dot(gi, d),
            tolerance_change=hyper["tolerance_change"][row, 0],
            max_ls=hyper["max_ls"],
            **wolfe,
        )
        if _no_progress(fi, gi, f_new, g_new):
            new["stalled"][row] = True
            continue
        new["f"][row], new["g"][row], new["step"][row] = f_new, g_new, t
        x_new[row] = x[row] + t * d
    return x_new, new


def bfgs_step(problem, x, state, hyper):
    eye = np.eye(x.shape[1])

    def direction(row, gi, new):
        inverse = new["inverse"][row]
        if state["t"][row] > 0:
            s = state["step"][row] * state["d"][row]
            y = gi - state["prev_g"][row]
            ys = _dot(y, s)
            if ys > CURVATURE_THRESHOLD:
                if new["updates"][row] == 0:  # scale H₀ to the curvature seen (N&W 6.20)
                    inverse = eye * (ys / _dot(y, y))
                rho = 1.0 / ys
                left = eye - rho * np.outer(s, y)
                inverse = left @ inverse @ left.T + rho * np.outer(s, s)
                new["updates"][row] += 1
        d = -inverse @ gi
        if _dot(gi, d) >= 0:  # lost positive definiteness: restart from steepest descent
            inverse, d = eye.copy(), -gi
            new["updates"][row] = 0
        new["inverse"][row], new["d"][row], new["prev_g"][row] = inverse, d, gi
        first = new["updates"][row] == 0
        t = _first_step(gi, hyper["lr"][row, 0]) if first else float(hyper["lr"][row, 0])
        new["step"][row] = t
        if _dot(gi, d) > -hyper["tolerance_change"][row, 0]:
            return None
        return d, t

    return _searching_step(problem, x, state, hyper, direction)


BFGS = OptimizerSpec(
    name="bfgs",
    init=bfgs_init,
    step=bfgs_step,
    params=(
        Param("lr", 1.0, low=1e-3, high=4.0, log=True, doc="trial step γ"),
        *line_search_params(1e-11, 1e-30),
    ),
    needs=frozenset({"loss", "grad"}),
    label="BFGS",
    family="curvature",
    doc="d = −Hg; strong-Wolfe line search from t = γ; s = t·d, y = Δg; if yᵀs > 10⁻¹⁰: "
    "H ← (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ with ρ = 1/yᵀs (H₀ = yᵀs/yᵀy·I before the first "
    "update). Restarts from −g if d stops being a descent direction.",
    reference="Broyden, Fletcher, Goldfarb & Shanno 1970; Nocedal & Wright 2006, algorithm 6.1",
)


# --------------------------------------------------------------------- nonlinear CG
def cg_init(problem, x, hyper):
    batch = len(x)
    return {
        "t": _counter(x),
        "fresh": np.zeros(batch, dtype=bool),
        "stalled": np.zeros(batch, dtype=bool),
        "f": np.zeros(batch),
        "g": np.zeros_like(x),
        "prev_g": np.zeros_like(x),
        "d": np.zeros_like(x),
        "step": np.zeros(batch),
        "gtd": np.zeros(batch),
    }


def cg_step(problem, x, state, hyper):
    def direction(row, gi, new):
        restart = state["t"][row] == 0 or state["gtd"][row] >= 0
        if not restart:
            g_old = state["prev_g"][row]
            if hyper["beta"] == "fletcher_reeves":
                beta = _dot(gi, gi) / _dot(g_old, g_old)
            else:
                beta = max(0.0, _dot(gi, gi - g_old) / _dot(g_old, g_old))
            d = -gi + beta * state["d"][row]
            restart = _dot(gi, d) >= 0
        if restart:
            d = -gi
            t = _first_step(gi, hyper["lr"][row, 0])
        else:
            # Expect the same first-order decrease as last time (Nocedal & Wright 3.60).
            t = state["step"][row] * state["gtd"][row] / _dot(gi, d)
        gtd = _dot(gi, d)
        new["d"][row], new["prev_g"][row], new["gtd"][row], new["step"][row] = d, gi, gtd, t
        if gtd > -hyper["tolerance_change"][row, 0]:
            new["gtd"][row] = 0.0  # start afresh next time
            return None
        return d, t

    return _searching_step(problem, x, state, hyper, direction, c2=hyper["c2"])


CG = OptimizerSpec(
    name="cg",
    init=cg_init,
    step=cg_step,
    params=(
        Param("lr", 1.0, low=1e-3, high=4.0, log=True, doc="scale of the first trial step"),
        Param(
            "beta",
            "polak_ribiere",
            kind="choice",
            choices=("polak_ribiere", "fletcher_reeves"),
            doc="β = max(0, gᵀ(g − g₋)/‖g₋‖²) (PR+) or ‖g‖²/‖g₋‖² (FR)",
        ),
        Param("c2", 0.1, low=1e-3, high=0.9, doc="curvature constant of the Wolfe conditions"),
        *line_search_params(1e-11, 1e-30),
    ),
    needs=frozenset({"loss", "grad"}),
    label="Conjugate gradient",
    family="curvature",
    doc="d ← −g + βd with Polak–Ribière+ or Fletcher–Reeves β (restart d = −g when it is not "
    "a descent direction); strong-Wolfe line search (c₂ = 0.1) from t = t₋·g₋ᵀd₋/gᵀd. On a "
    "D-dimensional quadratic with exact line searches it ends in D steps.",
    reference="Fletcher & Reeves 1964; Polak & Ribière 1969; Nocedal & Wright 2006, ch. 5",
)


# --------------------------------------------------------------------- steepest descent
def steepest_descent_step(problem, x, state, hyper):
    g = problem.grad(x)
    # Elementwise sums, not einsum: each run's numbers do not depend on the batch.
    curvature = (g[:, :, None] * problem.hess(x) * g[:, None, :]).sum(axis=(1, 2))
    squared = (g * g).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = squared / curvature
    trial = np.where(curvature > 0, exact, hyper["fallback_step"][:, 0])[:, None]
    step = backtrack(problem, x, problem.loss(x), -squared, -g, trial, hyper["shrink"])
    return x - step * g, {"t": state["t"] + 1}


STEEPEST_DESCENT = OptimizerSpec(
    name="steepest_descent",
    init=_square_init("steepest_descent", "Hessian", "cg, lbfgs"),
    step=steepest_descent_step,
    params=(
        Param("shrink", 0.5, low=0.05, high=0.95, doc="backtracking factor"),
        Param(
            "fallback_step",
            1.0,
            low=1e-4,
            high=10.0,
            log=True,
            doc="first trial step where the curvature along −g is not positive",
        ),
    ),
    needs=frozenset({"loss", "grad", "hess"}),
    label="Steepest descent (line search)",
    family="curvature",
    doc="d = −g; first trial a = gᵀg/gᵀHg, the exact minimiser along d on a quadratic, then "
    "Armijo backtracking a ← shrink·a until f(θ − ag) ≤ f(θ) − 10⁻⁴·a‖g‖². Successive "
    "steps are orthogonal on a quadratic: the zig-zag.",
    reference="Cauchy 1847; Nocedal & Wright 2006, sections 3.1 and 3.3",
)


@hookimpl
def zoo_optimizers():
    return [
        NEWTON,
        DIAG_NEWTON,
        GAUSS_NEWTON,
        LEVENBERG_MARQUARDT,
        BFGS,
        LBFGS,
        CG,
        STEEPEST_DESCENT,
    ]
