"""The seed tree: keyed random streams, the only source of the model's random numbers.

Every number a patient needs is a pure function of its key::

    (root seed, replicate, purpose, patient, sub)

``sub`` separates independent parts of one patient's purpose (a screening
candidate, a session slot, a visit); it is 0 where the purpose has one
stream per patient. A key opens a stream that is read in a fixed order
within that patient, so results do not depend on loop order, chunking,
threads or which other patients exist: the engine loops patient by patient,
the Mesa view steps day by day, and the first n patients of a larger trial
are exactly the smaller trial (prefix property) by construction.

Key layout (see docs/architecture.md):

* the root seed is expanded once by ``numpy.random.SeedSequence`` into two
  64-bit words ``(k0, k1)`` (any Python integer is a valid seed);
* ``a = replicate`` and ``b = purpose << 56 | sub << 32 | patient`` pack the
  rest of the key without overlap (patient < 2**32, sub < 2**24, purpose < 2**8);
* two independent 64-bit hashes ``h1 = H(k0; a, b)`` and ``h2 = H(k1; b, a)``
  are built from the SplitMix64 finalizer, and the 256-bit state of a
  xoshiro256++ generator is ``SplitMix64(h1)`` twice and ``SplitMix64(h2)``
  twice. Two keys share a stream only if both hashes collide (about 2**-128).

Within a stream: uniforms are the top 53 bits of a 64-bit output; standard
normals use a 256-layer ziggurat (Marsaglia and Tsang 2000, in numpy's 52-bit
form; about 1.01 outputs per normal). ``tests/test_rng.py`` checks moments,
tails, autocorrelation and independence across neighbouring keys.

The stream functions take and return the state as a tuple of four uint64
(``(value, state) = normal(state)``) so that numba keeps it in registers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

PURPOSES = (
    "enrolment",  # candidates' traits, run-in noise, screening measurement (sub = candidate)
    "symptoms",  # daily fluctuation, drift and mediator noise after screening
    "relapses",  # relapse times, severities, residual deficits
    "response",  # responder status, response modifier, expectation, arm guesses
    "practitioners",  # practitioners' own effects (patient = practitioner)
    "behaviour",  # dropout threshold (sub 0), attendance and adverse events (sub = slot + 1)
    "measurement",  # instrument error at visits (sub = visit)
    "diary",  # daily diary error (only when daily data are kept)
    "allocation",  # randomization list (patient = list position)
    "literature",  # a simulated literature's study sizes, designs and publication
    "accrual",  # gap before each randomization in calendar time (patient = list position)
    "assurance",  # a replicate's draws from the scenario's priors (patient = prior index)
    "bridge",  # symptom days between anchors, when they are wanted (sub = trial day index)
)

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1 = _U(0xBF58476D1CE4E5B9)
_M2 = _U(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def root_key(seed: int) -> np.ndarray:
    """The two 64-bit root words of a run (SeedSequence expansion of any integer seed)."""
    return np.random.SeedSequence(int(seed)).generate_state(2, np.uint64)


def purpose_code(purpose: str) -> int:
    """Index of a purpose in :data:`PURPOSES` (an unknown name is an error)."""
    return PURPOSES.index(purpose)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Marsaglia-Tsang tables for 256 layers and 52-bit mantissas (as in numpy).

    Computed with the C library's ``math`` (not numpy's CPU-dependent ``exp``), so
    the tables are the same on every machine.
    """
    m1 = 2.0**52
    r = 3.6541528853610088
    area = 4.92867323399e-3
    ki = np.zeros(256, dtype=np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    q = area / math.exp(-0.5 * r * r)
    ki[0] = np.uint64((r / q) * m1)
    wi[0], wi[255] = q / m1, r / m1
    fi[0], fi[255] = 1.0, math.exp(-0.5 * r * r)
    dn = tn = r
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(area / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64((dn / tn) * m1)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m1
    return ki, wi, fi, r


_KI, _WI, _FI, _R = _ziggurat_tables()


@njit(inline="always")
def _mix(z: uint64) -> uint64:
    """SplitMix64 finalizer (a bijection of 64-bit words)."""
    z = (z ^ (z >> _U(30))) * _M1
    z = (z ^ (z >> _U(27))) * _M2
    return z ^ (z >> _U(31))


@njit(inline="always")
def open_stream(
    key: np.ndarray, replicate: int, purpose: int, patient: int, sub: int
) -> tuple[uint64, uint64, uint64, uint64]:
    """The xoshiro256++ state of one key (see the module docstring for the layout)."""
    a = _U(replicate)
    b = (_U(purpose) << _U(56)) | (_U(sub) << _U(32)) | _U(patient)
    h1 = _mix(_mix(key[0] ^ _mix(a + _GOLDEN)) ^ _mix(b + _GOLDEN + _GOLDEN))
    h2 = _mix(_mix(key[1] ^ _mix(b + _GOLDEN)) ^ _mix(a + _GOLDEN + _GOLDEN))
    return (
        _mix(h1 + _GOLDEN),
        _mix(h1 + _GOLDEN + _GOLDEN),
        _mix(h2 + _GOLDEN),
        _mix(h2 + _GOLDEN + _GOLDEN),
    )


@njit(inline="always")
def _rotl(x: uint64, k: int) -> uint64:
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(inline="always")
def next_u64(state: tuple) -> tuple:
    """(64 random bits, next state): one xoshiro256++ step."""
    s0, s1, s2, s3 = state
    out = _rotl(s0 + s3, 23) + s0
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return out, (s0, s1, s2, s3)


@njit(inline="always")
def uniform(state: tuple) -> tuple:
    """(uniform on [0, 1) with 53 random bits, next state)."""
    x, state = next_u64(state)
    return np.int64(x >> _U(11)) * _TO_UNIT, state


@njit(inline="always")
def _layer(state: tuple) -> tuple:
    """One ziggurat try: (x, layer, negative, accepted at once, next state)."""
    bits, state = next_u64(state)
    idx = bits & _U(0xFF)
    bits >>= _U(8)
    negative = (bits & _U(1)) != _U(0)
    rabs = (bits >> _U(1)) & _U(0x000FFFFFFFFFFFFF)
    x = np.int64(rabs) * _WI[idx]  # int64 -> double converts in one instruction
    if negative:
        x = -x
    return x, idx, negative, rabs < _KI[idx], state


@njit(inline="always")
def normal(state: tuple) -> tuple:
    """(standard normal, next state): 256-layer ziggurat.

    The fast path (about 99% of draws) is inlined; the wedges and the tail
    are a call, so the hot loop stays small.
    """
    x, idx, negative, done, state = _layer(state)
    if done:
        return x, state
    return _normal_rejected(x, idx, negative, state)


@njit(cache=True, nogil=True)
def _normal_rejected(x: float, idx: int, negative: bool, state: tuple) -> tuple:
    """The rest of a ziggurat draw whose first try fell outside the layer's rectangle."""
    while True:
        if idx == 0:  # the tail beyond r (Marsaglia 1964)
            while True:
                u1, state = uniform(state)
                u2, state = uniform(state)
                xx = -np.log1p(-u1) / _R
                yy = -np.log1p(-u2)
                if yy + yy > xx * xx:
                    return (-(_R + xx) if negative else _R + xx), state
        u, state = uniform(state)
        if (_FI[idx - 1] - _FI[idx]) * u + _FI[idx] < np.exp(-0.5 * x * x):
            return x, state
        x, idx, negative, done, state = _layer(state)
        if done:
            return x, state


@njit(cache=True, nogil=True)
def _fill(
    key: np.ndarray, replicates: np.ndarray, purpose: int, out: np.ndarray, gaussian: bool
) -> None:
    """out[r, i, :] from the stream (replicates[r], purpose, i, 0), in order."""
    for r in range(out.shape[0]):
        for i in range(out.shape[1]):
            state = open_stream(key, replicates[r], purpose, i, 0)
            for j in range(out.shape[2]):
                if gaussian:
                    x, state = normal(state)
                else:
                    x, state = uniform(state)
                out[r, i, j] = x


def _draw(
    seed: int, replicates: np.ndarray, purpose: str, shape: tuple[int, ...], gaussian: bool
) -> np.ndarray:
    reps = np.asarray(replicates, dtype=np.int64)
    first = shape[0] if shape else 1
    rest = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    out = np.empty((len(reps), first, rest))
    _fill(root_key(seed), reps, purpose_code(purpose), out, gaussian)
    return out.reshape((len(reps), *shape))


def normals(seed: int, replicates: np.ndarray, purpose: str, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normals for several replicates, stacked on a first axis.

    Row ``i`` of the per-replicate shape's first axis (a patient, a list
    position, a practitioner) reads its own stream ``(replicate, purpose, i, 0)``,
    so a larger first axis only appends rows.

    Args:
        seed: Root seed of the run.
        replicates: Replicate indices of the chunk.
        purpose: One of :data:`PURPOSES`.
        shape: Per-replicate shape; its first axis is the keyed (patient) axis.

    Returns:
        Array of shape ``(len(replicates), *shape)``.
    """
    return _draw(seed, replicates, purpose, shape, True)


def uniforms(seed: int, replicates: np.ndarray, purpose: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniforms on [0, 1), keyed like :func:`normals`."""
    return _draw(seed, replicates, purpose, shape, False)


def stream(seed: int, replicate: int, purpose: str) -> np.random.Generator:
    """A numpy generator for one (replicate, purpose) pair, for code outside the model.

    The simulated literature draws study-level quantities with it; the
    patient model uses the keyed streams above.

    Args:
        seed: Root seed of the run.
        replicate: Replicate index (0-based).
        purpose: One of :data:`PURPOSES`.

    Returns:
        A PCG64 generator that no other pair shares.
    """
    key = (int(replicate), PURPOSES.index(purpose))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
