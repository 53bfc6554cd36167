"""The simulation's exp and log come from the C library, not numpy's CPU-chosen code.

numpy chooses its float64 ``exp`` and ``log`` by the CPU's vector extensions (on
AVX-512 they may differ from the C library in the last bit), so golden
baselines written on one machine would not hold on another.
"""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from mssim.model import libm

MODEL = Path(__file__).parent.parent / "src" / "mssim" / "model"
#: numpy's float64 functions that may take a CPU-specific path.
DISPATCHED = {"exp", "log", "expm1", "log1p", "power", "exp2", "log2", "log10"}
COMPILED = {"njit", "jit", "vectorize"}


@pytest.mark.parametrize(
    ("ours", "reference", "low", "high"),
    [
        (libm.exp, math.exp, -745.0, 709.0),
        (libm.log, math.log, 1e-300, 1e300),
        (libm.expm1, math.expm1, -50.0, 50.0),
        (libm.log1p, math.log1p, -0.999999, 1e6),
    ],
)
def test_libm_equals_the_c_library_bit_for_bit(ours, reference, low, high):
    rng = np.random.default_rng(7)
    if low > 0:
        x = np.exp(rng.uniform(math.log(low), math.log(high), 20_000))
    else:
        x = rng.uniform(low, high, 20_000)
    x = np.concatenate([x, rng.normal(0, 1e-3, 2_000), [0.0, high]])
    x = x[(x >= low) & (x <= high)]
    expected = np.array([reference(float(v)) for v in x])
    assert np.array_equal(ours(x), expected)
    assert ours(0.5) == reference(0.5)


def test_libm_power_equals_the_c_library():
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0.0, 1.0, 5_000), rng.uniform(0.1, 8.0, 5_000)
    assert np.array_equal(libm.power(x, y), [math.pow(a, b) for a, b in zip(x, y, strict=True)])


def test_libm_keeps_shapes_and_the_edges():
    x = np.arange(6.0).reshape(2, 3)
    assert libm.exp(x).shape == (2, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert libm.log(np.array([0.0]))[0] == -math.inf
        assert np.isnan(libm.log(np.array([-1.0]))[0])
        assert libm.log1p(np.array([-1.0]))[0] == -math.inf


def _numpy_calls_outside_compiled_code(path: Path) -> list[str]:
    """``np.<dispatched>`` calls in functions numba does not compile."""
    found = []

    def visit(node: ast.AST, compiled: bool) -> None:
        if isinstance(node, ast.FunctionDef):
            names = set()
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                names.add(target.attr if isinstance(target, ast.Attribute) else target.id)
            compiled = compiled or bool(names & COMPILED)
        if (
            not compiled
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "np"
            and node.attr in DISPATCHED
        ):
            found.append(f"{path.name}:{node.lineno} np.{node.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, compiled)

    visit(ast.parse(path.read_text()), False)
    return found


def test_the_model_layer_uses_libm_outside_numba():
    found = [
        hit
        for path in sorted(MODEL.glob("*.py"))
        for hit in _numpy_calls_outside_compiled_code(path)
    ]
    assert found == [], "use mssim.model.libm (the C library) instead: " + ", ".join(found)


def test_the_scan_finds_numpy_outside_numba(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "import numpy as np\nfrom numba import njit\n\n"
        "@njit(cache=True)\ndef inside(x):\n    return np.exp(x)\n\n"
        "def outside(x):\n    return np.log1p(x) + np.sqrt(x)\n"
    )
    assert _numpy_calls_outside_compiled_code(source) == ["example.py:9 np.log1p"]
