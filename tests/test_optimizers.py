"""Behaviour of the built-in optimizers beyond torch parity: the theory each one teaches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_torch_parity import fixture_quadratic

from zoo import (
    EngineError,
    Problem,
    RunConfig,
    RunSet,
    SpecError,
    build_problem,
    run_normal,
    simulate,
)
from zoo.testing import ReferenceProblem

FAMILIES = {"first-order", "adaptive", "curvature", "noise", "local rule"}
BUILT_IN = {
    "sgd", "momentum", "nesterov", "asgd", "lion", "signsgd", "adagrad", "rmsprop", "adadelta",
    "adam", "adamw", "nadam", "radam", "adamax", "rprop", "newton", "diag_newton",
    "gauss_newton", "levenberg_marquardt", "bfgs", "lbfgs", "cg", "steepest_descent", "sgld",
    "weight_perturbation", "node_perturbation", "perceptron", "hebbian", "oja", "sanger",
}  # fmt: skip

# torch.optim 2.13 defaults, tuples split into named parameters.
TORCH_DEFAULTS = {
    "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
            "nesterov": False},
    "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0,
                "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                "centered": False},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False, "decoupled_weight_decay": False},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2,
              "amsgrad": False},
    "nadam": {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "momentum_decay": 4e-3, "decoupled_weight_decay": False},
    "radam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False},
    "adamax": {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "rprop": {"lr": 1e-2, "eta_minus": 0.5, "eta_plus": 1.2, "step_min": 1e-6,
              "step_max": 50.0},
    "asgd": {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0},
    "lbfgs": {"lr": 1.0, "history_size": 100, "tolerance_grad": 1e-7, "tolerance_change": 1e-9},
}  # fmt: skip


# --------------------------------------------------------------------- records
def test_every_method_is_registered_and_documented(registry):
    assert set(registry.optimizers) >= BUILT_IN
    for name in BUILT_IN:
        spec = registry.get("optimizer", name)
        assert spec.family in FAMILIES, name
        assert spec.label and len(spec.doc) > 40 and spec.reference, name
        for param in spec.params:
            assert param.doc, f"{name}.{param.name}"
            if param.kind == "float":
                assert param.low is not None and param.high is not None, f"{name}.{param.name}"


@pytest.mark.parametrize("name", sorted(TORCH_DEFAULTS))
def test_defaults_and_names_are_torchs(name, registry):
    params = {p.name: p.default for p in registry.get("optimizer", name).params}
    for key, value in TORCH_DEFAULTS[name].items():
        assert params[key] == value, f"{name}.{key}"
        assert type(params[key]) is type(value), f"{name}.{key}"


def test_presets_are_sgd_with_momentum(registry):
    for name, nesterov in (("momentum", False), ("nesterov", True)):
        defaults = {p.name: p.default for p in registry.get("optimizer", name).params}
        assert defaults["momentum"] == 0.9 and defaults["nesterov"] is nesterov


# --------------------------------------------------------------------- Adam's ε
def kingma_ba_adam(problem, x, lr, steps, eps, scale_eps=False):
    """Kingma & Ba's 'efficient' form: α_t = α√(1 − β₂ᵗ)/(1 − β₁ᵗ), ε added to √v."""
    beta1, beta2 = 0.9, 0.999
    x = np.array(x, dtype=float)[None, :]
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = problem.grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        alpha = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        epsilon = eps * math.sqrt(1 - beta2**t) if scale_eps else eps
        x = x - alpha * m / (np.sqrt(v) + epsilon)
    return x[0]


def test_kingma_ba_form_differs_from_torchs_at_large_eps(registry):
    problem = fixture_quadratic()
    ours = simulate(
        problem, "adam", steps=50, hyper={"lr": 0.05, "eps": 1e-3}, registry=registry, gtol=0
    ).x[-1]
    efficient = kingma_ba_adam(problem, problem.start, 0.05, 50, 1e-3)
    assert np.max(np.abs(ours - efficient)) > 1e-3
    # The whole difference is where ε sits: scale it by √(1 − β₂ᵗ) and the forms agree.
    rescaled = kingma_ba_adam(problem, problem.start, 0.05, 50, 1e-3, scale_eps=True)
    assert np.max(np.abs(ours - rescaled)) < 1e-12


# --------------------------------------------------------------------- every pair runs
def _problems(registry) -> dict[str, Problem]:
    problems = {}
    for name in sorted(registry.models):
        try:
            problems[name] = build_problem(name, registry=registry)
        except EngineError as error:  # a model's own defaults must build
            pytest.fail(f"model {name} does not build with its defaults: {error}")
    return problems


def _compatible(spec, problem) -> bool:
    return spec.needs <= problem.provides


NESTEROV_REFUSAL = "Nesterov momentum requires a momentum > 0 and zero dampening"


def expected_failure(hyper: dict) -> str | None:
    """The message of the one legitimate failure: torch's refusal of ill-posed Nesterov."""
    if hyper.get("nesterov") and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        return NESTEROV_REFUSAL
    return None


#: A bowl, a curved valley and a network; the slow set runs every model.
REPRESENTATIVE_MODELS = ("quadratic", "rosenbrock", "tiny_net")


@pytest.mark.parametrize(
    "models",
    [REPRESENTATIVE_MODELS, pytest.param(None, marks=pytest.mark.slow, id="every-model")],
    ids=["representative", "every-model"],
)
def test_every_optimizer_runs_on_every_compatible_model_with_defaults(registry, models):
    problems = _problems(registry)
    if models is not None:
        problems = {name: problems[name] for name in models}
    pairs = 0
    for model, problem in problems.items():
        runs = RunSet(problem, registry)
        ids = {}
        for name, spec in sorted(registry.optimizers.items()):
            if _compatible(spec, problem):
                ids[runs.add(RunConfig(name))] = name
        runs.step(200)
        for run, name in ids.items():
            status = runs.status(run)
            assert status.state != "failed", f"{name} on {model}: {status}"
        pairs += len(ids)
    assert pairs >= len(problems) * 20


def test_incompatible_pairs_are_refused_naming_what_is_missing(registry):
    problems = _problems(registry)
    refused = 0
    for model, problem in problems.items():
        runs = RunSet(problem, registry)
        for name, spec in sorted(registry.optimizers.items()):
            missing = spec.needs - problem.provides
            if not missing:
                continue
            with pytest.raises(EngineError) as error:
                runs.add(RunConfig(name))
            assert all(need in str(error.value) for need in missing), (name, model)
            refused += 1
    assert refused > 0


def _value(draw, param):
    if param.kind == "bool":
        return draw(st.booleans())
    if param.kind == "choice":
        return draw(st.sampled_from(param.choices))
    if param.kind == "int":
        return draw(st.integers(int(param.low), min(int(param.high), int(param.low) + 20)))
    if param.log:
        exponent = draw(st.floats(math.log10(param.low), math.log10(param.high)))
        return min(max(10.0**exponent, param.low), param.high)
    return draw(st.floats(param.low, param.high))


@st.composite
def runs_on_models(draw, registry, problems):
    model = draw(st.sampled_from(sorted(problems)))
    problem = problems[model]
    names = sorted(n for n, s in registry.optimizers.items() if _compatible(s, problem))
    name = draw(st.sampled_from(names))
    spec = registry.get("optimizer", name)
    chosen = draw(st.lists(st.sampled_from([p.name for p in spec.params]), unique=True))
    hyper = {p.name: _value(draw, p) for p in spec.params if p.name in chosen}
    return model, name, hyper


def test_random_pairs_and_settings_never_crash_the_engine(registry):
    problems = _problems(registry)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(runs_on_models(registry, problems), st.integers(0, 2**31))
    def check(case, seed):
        model, name, hyper = case
        runs = RunSet(problems[model], registry)
        run = runs.add(RunConfig(name, hyper, seed=seed))
        runs.step(200)
        status = runs.status(run)
        expected = expected_failure(runs.configs[run].hyper)
        if expected is None:
            assert status.state != "failed", f"{name} on {model} with {hyper}: {status}"
        else:
            assert status.state == "failed" and expected in status.message

    check()


# --------------------------------------------------------------------- curvature
def _quadratic(registry, **settings):
    return build_problem("quadratic", settings, registry=registry)


def test_diagonal_newton_rescales_axes(registry):
    aligned = _quadratic(registry, lambda1=1.0, lambda2=50.0, angle=0.0, cx=1.0, cy=-2.0)
    one = simulate(aligned, "diag_newton", steps=1, registry=registry, gtol=0)
    assert np.allclose(one.x[1], [1.0, -2.0], atol=1e-12)
    rotated = _quadratic(registry, lambda1=1.0, lambda2=50.0, angle=30.0)
    assert simulate(rotated, "diag_newton", steps=1, registry=registry).loss[1] > 1e-3


def test_newton_with_backtracking_solves_rosenbrock(registry):
    plain = simulate("rosenbrock", "newton", steps=100, registry=registry)
    careful = simulate(
        "rosenbrock", "newton", steps=100, hyper={"backtracking": True}, registry=registry
    )
    assert careful.status.state == "converged" and careful.status.step < 40
    assert np.allclose(careful.x[-1], [1, 1], atol=1e-8)
    assert np.all(np.diff(careful.loss) <= 1e-12)  # Armijo: never uphill
    assert np.any(np.diff(plain.loss) > 0)  # the full step is not monotone from (−1.2, 1)


def test_damping_turns_newton_towards_gradient_descent(registry):
    problem = _quadratic(registry, lambda1=1.0, lambda2=10.0)
    x0 = problem.start[None, :]
    gradient, hessian = problem.grad(x0)[0], problem.hess(x0)[0]
    cosines = []
    for damping in (0.0, 1.0, 100.0):
        step = simulate(
            problem, "newton", steps=1, hyper={"damping": damping}, registry=registry
        ).x[1]
        expected = x0[0] - np.linalg.solve(hessian + damping * np.eye(2), gradient)
        assert np.allclose(step, expected, atol=1e-12)
        moved = x0[0] - step
        cosines.append(moved @ gradient / (np.linalg.norm(moved) * np.linalg.norm(gradient)))
    assert cosines[0] < cosines[1] < cosines[2] and cosines[2] > 0.99


def test_steepest_descent_line_search_is_exact_on_quadratics(registry):
    problem = _quadratic(registry, lambda1=1.0, lambda2=20.0, angle=25.0)
    run = simulate(problem, "steepest_descent", steps=15, registry=registry, gtol=0)
    gradients = problem.grad(run.x)
    # Each step ends where the new gradient is orthogonal to the old one: the zig-zag.
    cosines = np.einsum("bi,bi->b", gradients[1:], gradients[:-1]) / (
        np.linalg.norm(gradients[1:], axis=1) * np.linalg.norm(gradients[:-1], axis=1)
    )
    assert np.max(np.abs(cosines)) < 1e-9
    bound = ((20 - 1) / (20 + 1)) ** 2  # Kantorovich: the loss contracts at least this much
    assert np.all(run.loss[1:] <= bound * run.loss[:-1] * (1 + 1e-9))


def test_steepest_descent_backtracks_off_quadratics(registry):
    run = simulate("rosenbrock", "steepest_descent", steps=300, registry=registry)
    assert np.all(np.diff(run.loss) <= 1e-12)
    assert run.loss[-1] < 0.1 * run.loss[0]


@pytest.mark.parametrize("beta", ["polak_ribiere", "fletcher_reeves"])
def test_conjugate_gradients_finish_a_2d_quadratic_in_two_line_searches(beta, registry):
    problem = _quadratic(registry, lambda1=1.0, lambda2=30.0, angle=40.0, cx=0.5)
    run = simulate(problem, "cg", steps=2, hyper={"beta": beta}, registry=registry, gtol=0)
    assert run.grad_norm[2] < 1e-8 * run.grad_norm[0]
    rosenbrock = simulate("rosenbrock", "cg", steps=400, hyper={"beta": beta}, registry=registry)
    assert rosenbrock.loss[-1] < 1e-6


def test_bfgs_solves_rosenbrock(registry):
    run = simulate("rosenbrock", "bfgs", steps=100, registry=registry)
    assert run.status.state == "converged" and run.status.step < 60
    assert np.allclose(run.x[-1], [1, 1], atol=1e-9)


class LinearResiduals(Problem):
    """r = Xw − y: Gauss–Newton solves it in one step."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.design = rng.normal(size=(8, 2))
        self.targets = rng.normal(size=8)

    @property
    def start(self):
        return np.array([3.0, -2.0])

    def residuals(self, x):
        return x @ self.design.T - self.targets

    def jacobian(self, x):
        return np.broadcast_to(self.design, (len(x), *self.design.shape)).copy()

    def loss(self, x):
        r = self.residuals(x)
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x):
        return self.residuals(x) @ self.design


class MadsenExample(Problem):
    """r = (u + 1, λu² + u − 1, v): for |λ| > 1 the minimum at 0 repels Gauss–Newton
    (Madsen, Nielsen & Tingleff 2004, example 3.2)."""

    def __init__(self, lam):
        self.lam = lam

    @property
    def start(self):
        return np.array([1.0, 1.0])

    def residuals(self, x):
        u, v = x[:, 0], x[:, 1]
        return np.stack([u + 1, self.lam * u * u + u - 1, v], axis=1)

    def jacobian(self, x):
        out = np.zeros((len(x), 3, 2))
        out[:, 0, 0] = 1.0
        out[:, 1, 0] = 2 * self.lam * x[:, 0] + 1
        out[:, 2, 1] = 1.0
        return out

    def loss(self, x):
        r = self.residuals(x)
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x):
        return np.einsum("bnd,bn->bd", self.jacobian(x), self.residuals(x))


def test_gauss_newton_solves_linear_least_squares_in_one_step(registry):
    problem = LinearResiduals()
    run = simulate(problem, "gauss_newton", steps=1, registry=registry, gtol=0)
    solution, *_ = np.linalg.lstsq(problem.design, problem.targets, rcond=None)
    assert np.allclose(run.x[1], solution, atol=1e-12)


def test_gauss_newton_wanders_where_levenberg_marquardt_converges(registry):
    problem = MadsenExample(-2.0)
    gauss_newton = simulate(problem, "gauss_newton", steps=100, registry=registry, gtol=0)
    marquardt = simulate(problem, "levenberg_marquardt", steps=100, registry=registry, gtol=0)
    assert np.max(np.abs(gauss_newton.x[-20:, 0])) > 1e-2
    assert np.abs(marquardt.x[-1, 0]) < 1e-6
    assert np.all(np.diff(marquardt.loss) <= 0)  # only steps with a real gain are taken
    levenberg = simulate(
        problem,
        "levenberg_marquardt",
        steps=100,
        hyper={"scaling": "levenberg"},
        registry=registry,
        gtol=0,
    )
    assert np.abs(levenberg.x[-1, 0]) < 1e-6


# --------------------------------------------------------------------- noise
def test_sgld_samples_the_gibbs_distribution(registry):
    """On E = ½x², SGLD's stationary variance is T/(1 − η/2) per coordinate."""
    problem = _quadratic(registry, lambda1=1.0, lambda2=1.0)
    lr, temperature = 0.1, 0.5
    run = simulate(
        problem,
        "sgld",
        steps=20_000,
        start=(0.0, 0.0),
        registry=registry,
        hyper={"lr": lr, "temperature": temperature},
        seed=3,
        gtol=0,
    )
    variance = np.var(run.x[1000:], axis=0)
    assert np.allclose(variance, temperature / (1 - lr / 2), rtol=0.1)
    again = simulate(
        problem,
        "sgld",
        steps=50,
        start=(0.0, 0.0),
        registry=registry,
        hyper={"lr": lr, "temperature": temperature},
        seed=3,
        gtol=0,
    )
    assert np.array_equal(again.x, run.x[:51])


def _one_step_estimates(problem, name, hyper, runs, registry, start):
    """(x − x_new)/lr of one step from ``start`` for ``runs`` seeds, stepped as one batch."""
    runset = RunSet(problem, registry, gtol=0)
    ids = [runset.add(RunConfig(name, hyper, start=start, seed=s)) for s in range(runs)]
    assert len(runset.batches()) == 1
    runset.step()
    moved = np.array([runset.position(i) for i in ids])
    return (np.asarray(start) - moved) / hyper["lr"]


def test_parallel_weight_perturbation_is_unbiased(registry):
    problem = _quadratic(registry, lambda1=1.0, lambda2=4.0, angle=20.0)
    start = (1.0, -0.5)
    estimates = _one_step_estimates(
        problem, "weight_perturbation", {"lr": 0.01, "sigma": 0.1}, 3000, registry, start
    )
    gradient = problem.grad(np.array([start]))[0]
    error = np.abs(estimates.mean(axis=0) - gradient)
    assert np.all(error < 4 * estimates.std(axis=0) / math.sqrt(len(estimates)))


def test_serial_weight_perturbation_is_a_forward_difference_per_weight(registry):
    problem = _quadratic(registry, lambda1=1.0, lambda2=4.0, angle=20.0)
    sigma, lr = 1e-3, 0.1
    run = simulate(
        problem,
        "weight_perturbation",
        steps=2,
        registry=registry,
        gtol=0,
        hyper={"lr": lr, "sigma": sigma, "form": "serial"},
    )
    hessian = problem.hess(run.x[:1])[0]
    for step, axis in ((0, 0), (1, 1)):
        x = run.x[step]
        expected = problem.grad(x[None, :])[0, axis] + 0.5 * sigma * hessian[axis, axis]
        moved = x - run.x[step + 1]
        assert moved[1 - axis] == 0
        assert moved[axis] == pytest.approx(lr * expected, rel=1e-9)


def test_node_perturbation_is_werfels_rule_and_unbiased(registry):
    problem = LinearResiduals()
    start = np.array([0.4, -0.7])
    sigma, lr = 0.05, 0.01
    run = simulate(
        problem,
        "node_perturbation",
        steps=1,
        start=start,
        seed=11,
        hyper={"lr": lr, "sigma": sigma},
        registry=registry,
        gtol=0,
    )
    # ΔW = −(η/σ²)[E(Wx + ξ) − E(Wx)]ξxᵀ over all examples at once (Werfel, Xie & Seung 2005).
    xi = sigma * run_normal(np.array([[11]]), np.array([0]), (8,))[0]
    r = problem.residuals(start[None, :])[0]
    change = 0.5 * np.sum((r + xi) ** 2) - 0.5 * np.sum(r**2)
    expected = start - lr / sigma**2 * change * (xi @ problem.design)
    assert np.allclose(run.x[1], expected, rtol=1e-12)
    estimates = _one_step_estimates(
        problem, "node_perturbation", {"lr": lr, "sigma": sigma}, 3000, registry, tuple(start)
    )
    gradient = problem.grad(start[None, :])[0]
    error = np.abs(estimates.mean(axis=0) - gradient)
    assert np.all(error < 4 * estimates.std(axis=0) / math.sqrt(len(estimates)))


def test_minibatches_give_gradient_methods_noise_but_the_same_replay(registry):
    problem = ReferenceProblem(n=40)
    full = RunSet(problem, registry, gtol=0)
    noisy = RunSet(problem, registry, gtol=0)
    full_id = full.add(RunConfig("sgd", {"lr": 0.3}))
    noisy_id = noisy.add(RunConfig("sgd", {"lr": 0.3}, batch_size=5, seed=4))
    full.step(100)
    noisy.step(100)
    x_full, x_noisy = full.history(full_id)[0], noisy.history(noisy_id)[0]
    assert not np.allclose(x_full, x_noisy)
    assert problem.loss(x_noisy[-1:])[0] < 2 * problem.loss(x_full[-1:])[0] + 1e-3
    again = RunSet(problem, registry, gtol=0)
    again_id = again.add(RunConfig("sgd", {"lr": 0.3}, batch_size=5, seed=4))
    again.step(100)
    assert np.array_equal(again.history(again_id)[0], x_noisy)


# --------------------------------------------------------------------- local rules
class Cloud(Problem):
    """Zero-mean Gaussian inputs with covariance diag(variances) rotated; optional labels."""

    def __init__(self, variances, n=2000, seed=0, rotate=True, weights=None, labels=None):
        rng = np.random.default_rng(seed)
        features = len(variances)
        basis = (
            np.linalg.qr(rng.normal(size=(features, features)))[0] if rotate else np.eye(features)
        )
        self.basis = basis
        self.inputs = (rng.normal(size=(n, features)) * np.sqrt(variances)) @ basis.T
        self.labels = labels
        self.dim = weights if weights is not None else features

    @property
    def start(self):
        return np.full(self.dim, 0.3)

    # A loss and gradient (½‖w‖², not what the rules descend) let the engine draw and
    # track the runs; gtol=0 keeps them going.
    def loss(self, x):
        return 0.5 * np.einsum("bi,bi->b", x, x)

    def grad(self, x):
        return np.array(x, dtype=float)


def _top_eigenvectors(inputs, count):
    _, vectors = np.linalg.eigh(inputs.T @ inputs / len(inputs))
    return vectors[:, ::-1][:, :count].T


def _local_run(problem, name, steps, hyper, registry, seed=0):
    runs = RunSet(problem, registry, gtol=0)
    run = runs.add(RunConfig(name, hyper, seed=seed))
    runs.step(steps)
    assert runs.status(run).state == "running", runs.status(run)
    return runs.history(run)[0]


def test_oja_finds_the_unit_top_eigenvector(registry):
    problem = Cloud([4.0, 1.0, 0.5])
    top = _top_eigenvectors(problem.inputs, 1)[0]
    for hyper, steps, tolerance in (
        ({"lr": 0.05, "batch": True}, 400, 1e-9),
        ({"lr": 0.002, "batch": False}, 4000, 0.03),
    ):
        w = _local_run(problem, "oja", steps, hyper, registry)[-1]
        assert abs(np.linalg.norm(w) - 1) < tolerance, hyper
        assert 1 - abs(w @ top) / np.linalg.norm(w) < tolerance, hyper


def test_sanger_rows_are_the_ordered_top_eigenvectors(registry):
    problem = Cloud([5.0, 2.0, 0.5, 0.1], weights=8)  # W is 2 × 4
    tops = _top_eigenvectors(problem.inputs, 2)
    for hyper, steps, tolerance in (
        ({"lr": 0.05, "batch": True}, 1500, 1e-8),
        ({"lr": 0.002, "batch": False}, 6000, 0.05),
    ):
        rows = _local_run(problem, "sanger", steps, hyper, registry)[-1].reshape(2, 4)
        for row, top in zip(rows, tops, strict=True):
            assert abs(np.linalg.norm(row) - 1) < tolerance, hyper
            assert 1 - abs(row @ top) / np.linalg.norm(row) < tolerance, hyper


def test_hebbian_grows_without_bound_along_the_top_direction(registry):
    problem = Cloud([3.0, 1.0])
    path = _local_run(problem, "hebbian", 800, {"lr": 0.01, "batch": True}, registry)
    norms = np.linalg.norm(path, axis=1)
    assert np.all(np.diff(norms) > 0) and norms[-1] > 50 * norms[0]
    # Full-batch Hebb is w ← (I + ηC)w: the norm grows by (1 + ηλ_max) per step in the end.
    top = np.linalg.eigvalsh(problem.inputs.T @ problem.inputs / len(problem.inputs))[-1]
    assert norms[-1] / norms[-2] == pytest.approx(1 + 0.01 * top, rel=1e-8)


def test_perceptron_mistakes_stay_under_novikoffs_bound(registry):
    rng = np.random.default_rng(5)
    unit = np.array([0.6, -0.8])
    points = rng.uniform(-1, 1, size=(400, 2))
    margin = points @ unit
    keep = np.abs(margin) > 0.1
    points, labels = points[keep], np.sign(margin[keep])
    problem = Cloud([1.0, 1.0], labels=labels)
    problem.inputs = points
    radius = np.max(np.linalg.norm(points, axis=1))
    gamma = np.min(labels * (points @ unit))
    runs = RunSet(problem, registry, gtol=0)
    run = runs.add(RunConfig("perceptron", start=(0.0, 0.0), seed=2))
    runs.step(3000)
    path = runs.history(run)[0]
    mistakes = int(np.sum(np.any(np.diff(path, axis=0) != 0, axis=1)))
    assert 0 < mistakes <= (radius / gamma) ** 2
    assert np.all(labels * (points @ path[-1]) > 0)  # separated in the end


def test_local_rules_refuse_inputs_of_the_wrong_width(registry):
    problem = Cloud([1.0, 1.0, 1.0], weights=2)
    runs = RunSet(problem, registry)
    run = runs.add(RunConfig("oja"))
    assert runs.status(run).state == "failed"
    assert "3 features but the model has 2 weights" in runs.status(run).message


def test_minibatch_sgd_on_every_registered_data_model(registry):
    """``batch_size`` is the engine's: any gradient method gets minibatches where the model
    has samples, and a run replays exactly from its seed."""
    data_models = []
    for name in sorted(registry.models):
        problem = build_problem(name, registry=registry)
        if {"samples", "grad"} <= problem.provides and problem.n_samples > 4:
            data_models.append((name, problem))
    if not data_models:
        pytest.skip("no data-driven model is registered")
    for name, problem in data_models:
        paths = []
        for _ in range(2):
            runs = RunSet(problem, registry, gtol=0)
            run = runs.add(RunConfig("sgd", {"lr": 0.01}, batch_size=4, seed=9))
            runs.step(50)
            assert runs.status(run).state != "failed", (name, runs.status(run))
            paths.append(runs.history(run)[0])
        assert np.array_equal(paths[0], paths[1]), name


SURFACES = (
    "rosenbrock", "beale", "himmelblau", "booth", "matyas", "three_hump_camel",
    "six_hump_camel", "rastrigin", "styblinski_tang", "goldstein_price", "gaussian_wells",
)  # fmt: skip


def test_newton_with_backtracking_never_sits_at_a_non_stationary_point(registry):
    """Where −H⁻¹g points uphill the step falls back to −g, so a run only stays put where
    the gradient vanishes (Himmelblau from (0, 0), |g| = 26, used to freeze)."""
    frozen = simulate(
        "himmelblau", "newton", steps=60, start=(0.0, 0.0), hyper={"backtracking": True},
        registry=registry,
    )  # fmt: skip
    assert frozen.status.state == "converged"
    assert frozen.loss[-1] < 1e-20


@pytest.mark.slow
def test_newton_with_backtracking_moves_wherever_the_gradient_does_not_vanish(registry):
    starts = [(u, v) for u in (-1.5, -0.4, 0.0, 0.7, 1.6) for v in (-1.2, 0.0, 0.9)]
    for surface in SURFACES:
        for start in starts:
            run = simulate(
                surface, "newton", steps=40, start=start, hyper={"backtracking": True},
                registry=registry,
            )  # fmt: skip
            # A run may also stop where it no longer moves, if that is a stationary point
            # (Newton's method is drawn to saddles as well as minima).
            settled = run.status.state == "stopped" and run.status.end.kind in ("minimum", "saddle")
            assert run.status.state in ("running", "converged") or settled, (
                surface,
                start,
                run.status,
            )
            still = np.all(run.x[1:] == run.x[:-1], axis=1)
            assert not np.any(still & (run.grad_norm[:-1] > 1e-4)), (surface, start)
            assert np.all(np.diff(run.loss) <= 1e-12 * np.maximum(1, np.abs(run.loss[:-1])))


def test_signsgd_can_start_its_average_at_zero(registry):
    """m₀ = 0 (optax, pytorch-optimizer) against m₁ = g₁: same first sign, then they part."""
    hyper = {"lr": 0.05, "momentum": 0.9}
    plain = simulate("rosenbrock", "signsgd", steps=30, hyper=hyper, registry=registry)
    zero = simulate(
        "rosenbrock", "signsgd", steps=30, hyper={**hyper, "zero_start": True}, registry=registry
    )
    np.testing.assert_array_equal(plain.x[1], zero.x[1])
    assert not np.array_equal(plain.x, zero.x)
    # by hand: m = Σ 0.1·0.9^(t−k)·g_k from zero
    problem = build_problem("rosenbrock", registry=registry)
    m = np.zeros(2)
    for k in range(5):
        m = 0.9 * m + 0.1 * problem.grad(zero.x[k][None, :])[0]
        np.testing.assert_array_equal(zero.x[k + 1], zero.x[k] - 0.05 * np.sign(m))


def test_linear_warmup_refuses_a_zero_start_factor_as_torch_does(registry):
    spec = registry.get("schedule", "linear_warmup")
    (start_factor,) = [p for p in spec.params if p.name == "start_factor"]
    with pytest.raises(SpecError):
        start_factor.coerce(0.0)
    assert start_factor.low > 0


def test_methods_that_need_a_d_by_d_matrix_refuse_a_big_model_with_the_numbers(registry):
    """An MLP of 21,057 weights: newton would ask for a 3.3 GB Hessian; it is refused at
    set-up with the size, and diag_newton-free methods still run."""

    class Wide(Problem):
        dim = 21_057

        def loss(self, x):
            return 0.5 * np.sum(x * x, axis=1)

        def grad(self, x):
            return x.copy()

    run = simulate(Wide(), "newton", steps=1, registry=registry)
    assert run.status.state == "failed"
    assert "newton needs a 21,057 × 21,057 Hessian, 3.3 GB" in run.status.message
    for name in ("bfgs", "steepest_descent", "diag_newton"):
        refused = simulate(Wide(), name, steps=1, registry=registry)
        assert refused.status.state == "failed" and "21,057 × 21,057" in refused.status.message
    assert simulate(Wide(), "lbfgs", steps=2, registry=registry).status.state != "failed"
