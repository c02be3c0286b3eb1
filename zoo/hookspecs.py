"""The plugin contract: read this file top to bottom to write a plugin.

A plugin is any module (or object) with functions named like the hooks below, each
decorated with ``@zoo.hookimpl`` and returning an iterable of records.  The zoo finds it

1. through the entry-point group ``optimizer_zoo`` of any installed distribution
   (``[project.entry-points.optimizer_zoo] myplugin = "mypackage.zoo_plugin"``);
2. as a ``*.py`` file in the local plugin folder (see ``zoo plugins --json`` for the path;
   ``ZOO_PLUGIN_PATH`` overrides it with an ``os.pathsep``-separated list);
3. through ``Registry.register(module_or_object)`` at run time.

Each hook is called once when the registry loads.  Every record is validated then
(``zoo.specs.validate_record``).  If importing the plugin fails, a hook raises, returns
something other than an iterable of records or yields more than 10,000 of them, a record
is malformed, a name is already taken by another plugin of the same kind, a ``zoo_*``
function is not one of the hooks below (a misspelling) or lacks ``@hookimpl``, or a
hookimpl asks for an option the registry does not honour (``hookwrapper``, ``wrapper``,
``tryfirst``, ``trylast``: every hook is called once, on its own), the problem is recorded
in ``registry.failures`` (plugin, source, message) and that record or plugin is skipped;
the rest loads.  The first plugin to claim a name keeps it.  Run ``zoo check yourmodule``
to see what is wrong with yours.

Every later call into plugin code (``build``, ``init``, ``step``, ``loss``, ``factor``,
``f``) goes through ``zoo.guard``: any exception, ``sys.exit()`` included, becomes a
failure that names the record, its plugin and distribution; only Ctrl-C passes.

Records may be returned from a list, a tuple or a generator.  Names are lowercase
identifiers, unique per kind; ``label`` is what people see.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from zoo.specs import ActivationSpec, ModelSpec, OptimizerSpec, ScheduleSpec

PROJECT = "optimizer_zoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def zoo_optimizers() -> Iterable[OptimizerSpec]:
    """Return the optimizers this plugin provides.

    An optimizer is two pure functions over a batch of B runs in D dimensions::

        state = init(problem, x, hyper)                # x: (B, D) float64
        x_new, state = step(problem, x, state, hyper)  # never mutate x or state

    ``hyper`` maps every ``Param`` name to its value for the batch.  ``float``
    parameters arrive as float64 arrays of shape ``(B, 1)`` — one batch can sweep a
    learning rate across runs — with the schedule's target (usually ``lr``) already
    multiplied by the run's schedule.
    ``int``, ``bool``, ``choice`` and ``activation`` parameters arrive as plain Python
    values: runs that differ in them are stepped in separate batches, so they may change
    the shapes of the state.  ``hyper["seed"]`` is an ``(B, 1)`` int64 array of per-run
    seeds; draw noise with ``zoo.run_normal(hyper["seed"], state["t"], shape)`` so a run
    is reproducible alone or in any batch.

    ``state`` is a dict of numpy arrays whose leading axis is B (the step counter too,
    conventionally ``state["t"]`` of shape ``(B,)``), so the engine can copy, rewind and
    mask finished runs.  ``step`` returns new arrays.

    ``momentum_key`` names the state array of shape ``(B, D)`` that points like the
    gradient and carries the method's memory (``"buf"`` for SGD with momentum, ``"m"``
    for Adam); ``scaling_key`` names the per-coordinate accumulator an adaptive method
    divides its step by (``"v"`` for Adam, ``"sum"`` for Adagrad).  The app draws them;
    leave them ``""`` when the method has none.

    ``stop_reasons`` lists why the method may end a run by itself (L-BFGS at torch's
    ``tolerance_grad`` or ``tolerance_change``).  Its state must then hold ``"stop"`` of
    shape ``(B,)``: 0 while a run goes on, ``k`` from the step at which it stops for
    ``stop_reasons[k - 1]``.  The engine marks that run ``stopped`` with the reason and
    steps it no more.

    ``needs`` names what the problem must provide: ``"loss"``, ``"grad"``, ``"hess"``,
    ``"residuals"`` (least squares: ``residuals`` and ``jacobian``), ``"samples"``
    (data-driven minibatches), ``"inputs"`` (the data a linear unit sees, for Hebbian
    rules) and ``"labels"`` (±1 targets beside the inputs, for the perceptron).  The
    engine refuses other pairings with a message; the GUI does not offer them.

    A step may call ``problem`` several times (line searches, perturbations): the engine
    counts each call for every run of the batch.  Evaluate some runs on their own through
    ``problem.for_rows(rows).loss(x[rows])`` (per-run line searches) and only those runs are
    charged.  On minibatches row b of ``x`` is run b with its own samples: evaluate the
    problem at the batch's rows (or at some of them through ``for_rows``), never at a
    stack of more points.  ``x`` is read-only during the step.  If ``step`` raises, writes
    into ``x``,
    returns the wrong shape, non-real or non-finite numbers, or the problem it calls returns
    a ``loss`` or ``grad`` of the wrong shape, the engine isolates the runs concerned and
    marks them failed or diverged with the reason; the other runs go on.
    """


@hookspec
def zoo_activations() -> Iterable[ActivationSpec]:
    """Return the activations this plugin provides.

    ``f``, ``df`` and (optionally) ``d2f`` are elementwise numpy functions: the value, the
    first and the second derivative.  They receive arrays of any shape and must return
    arrays of the same shape.  The conformance kit checks ``df`` and ``d2f`` against
    central differences away from kinks.  Every network model lists all registered
    activations, so a new one is usable at once.
    """


@hookspec
def zoo_models() -> Iterable[ModelSpec]:
    """Return the models this plugin provides.

    ``build(settings, ctx) -> Problem``: ``settings`` is a dict with a value for every
    ``Param`` (already coerced and range-checked); ``ctx.activations`` maps names to
    ``ActivationSpec`` and ``ctx.rng`` is a seeded ``numpy.random.Generator`` — use it
    for every random draw so a scene replays identically.  Raise ``ValueError`` with a
    readable message for settings that make no sense together; any other failure is
    reported as the plugin's ("model 'x' from plugin p (dist 1.0) failed to build: …").
    The built problem is refused unless ``start`` has shape ``(dim,)`` and is finite, and
    ``bounds`` are finite with low < high.

    Subclass ``zoo.Problem``: override ``loss`` and ``grad`` (and ``hess`` when it is
    cheap to write; otherwise central differences of ``grad`` are used), ``residuals``
    and ``jacobian`` for least squares, ``minibatch(seeds, steps, size)`` for data-driven
    models (each run's own samples, see ``zoo.Problem.minibatch``).  Set
    ``dim``, ``bounds``, ``start``, ``minima``, ``n_samples`` and, for D > 2, ``plane``
    in ``__init__`` or as class attributes; each has a default (see ``zoo.Problem``).
    The kit checks every derivative against central differences.
    """


@hookspec
def zoo_schedules() -> Iterable[ScheduleSpec]:
    """Return the schedules this plugin provides.

    ``factor(step, **params)`` returns the multiplier of the optimizer's float
    hyper-parameter named by ``target`` (``"lr"`` unless the record says otherwise, e.g.
    ``target="momentum"`` for a momentum warm-up) at ``step``
    (0, 1, 2, …).  ``step`` may be an integer or a numpy array of them, and the
    parameters arrays broadcastable against it, so write it with numpy functions.  A factor
    that raises, is not a real number, is negative or is not finite fails the runs it drives
    with the reason.
    ``robbins_monro(**params)`` optionally says whether the schedule satisfies
    Σηₖ = ∞ and Σηₖ² < ∞.
    """
