"""A few runs step in Python floats, many in numpy: the two paths give the same bits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo_plugins.optimizers import kernels

#: Gradients of every kind an update meets: ordinary, tiny (subnormal products), huge,
#: zero, infinite and NaN.
ELEMENT = st.one_of(
    st.floats(-1e3, 1e3),
    st.floats(-1e-160, 1e-160),
    st.sampled_from([0.0, -0.0, 1e200, -1e300, np.inf, -np.inf, np.nan]),
)


class Given:
    """A problem whose gradient is fixed, counting its calls."""

    def __init__(self, grad: np.ndarray) -> None:
        self.value, self.calls = grad, 0

    def grad(self, x):
        self.calls += 1
        return self.value


def batch_hyper(spec, rows: int, draw_value) -> dict:
    hyper = {}
    for param in spec.params:
        if param.kind == "bool":
            hyper[param.name] = draw_value(st.booleans())
        else:
            column = [draw_value(st.floats(param.low, param.high)) for _ in range(rows)]
            hyper[param.name] = np.array(column).reshape(rows, 1)
    return hyper


def assert_same_bits(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Equal bit for bit, signed zeros told apart; any NaN matches any NaN."""
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    both_nan = np.isnan(ours) & np.isnan(theirs) if ours.dtype.kind == "f" else False
    differ = (ours.view(np.int64) != theirs.view(np.int64)) & ~both_nan
    assert not differ.any(), f"{ours[differ]} against {theirs[differ]}"


def rows_of(hyper: dict, rows: slice) -> dict:
    return {k: v[rows] if isinstance(v, np.ndarray) else v for k, v in hyper.items()}


@pytest.mark.parametrize("name", ["adam", "adamw"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_few_runs_step_bit_for_bit_as_in_a_large_batch(name, registry, data):
    spec = registry.get("optimizer", name)
    width = data.draw(st.integers(1, 3))
    rows = kernels.SMALL // width + 1  # one more than the small path takes
    shape = (rows, width)
    cells = st.lists(ELEMENT, min_size=rows * width, max_size=rows * width)
    x = np.array(data.draw(cells)).reshape(shape)
    grad = np.array(data.draw(cells)).reshape(shape)
    hyper = batch_hyper(spec, rows, data.draw)
    state = spec.init(None, x, hyper)
    for key in state.keys() - {"t"}:  # the second moments are never negative
        value = np.array(data.draw(cells)).reshape(shape)
        state[key] = value if key == "m" else np.abs(value)
    state["t"] = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=rows, max_size=rows)))
    with np.errstate(all="ignore"):
        whole_x, whole_state = spec.step(Given(grad), x, state, hyper)
        for lo, hi in ((0, 1), (1, 3), (3, rows)):  # alone, a pair, and the rest
            if (hi - lo) * width > kernels.SMALL:
                continue
            part = slice(lo, hi)
            problem = Given(grad[part])
            part_x, part_state = spec.step(
                problem, x[part], {k: v[part] for k, v in state.items()}, rows_of(hyper, part)
            )
            assert problem.calls == 1
            assert_same_bits(part_x, whole_x[part])
            assert part_state.keys() == whole_state.keys()
            for key, value in part_state.items():
                assert_same_bits(value, whole_state[key][part])
