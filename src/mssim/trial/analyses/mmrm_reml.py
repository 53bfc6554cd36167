"""REML fit of repeated measures with an unstructured covariance, batched over replicates.

The model of one replicate trial: patient i has outcomes ``y_it`` at visits t = 1..T, of
which the visits in ``O_i`` are observed (missing at random), and covariates ``x_i`` (p of
them, the same at every visit) with visit-specific coefficients::

    y_it = x_i' beta_t + e_it,   e_i ~ N(0, Sigma),   Sigma unstructured (T x T)

so the fixed effects are ``beta`` (T x p, Tp of them) and the covariance parameters are the
T(T+1)/2 distinct entries of Sigma. This is the mixed model for repeated measures (MMRM)
with covariates x = (1, arm, baseline): ``arm * visit + baseline * visit``.

Everything is computed from per-pattern sums: patients sharing a missingness pattern m (the
set of observed visits) share ``W_m``, the inverse of Sigma restricted to their visits and
padded with zeros, so the likelihood needs only ``n_m``, ``S_m = sum x_i x_i'``,
``sum x_i y_i'`` and ``sum y_i y_i'`` per replicate and pattern. With
``A = X'V^-1 X = sum_m W_m (x) S_m`` the restricted log-likelihood is (up to a constant)::

    l(Sigma) = -1/2 [sum_m n_m log|Sigma_m| + log|A| + r' V^-1 r],  r = y - X beta_hat

Its gradient and its observed and expected information in the entries of Sigma are
closed-form (``P = V^-1 - V^-1 X A^-1 X' V^-1``, ``V_j = dV/dSigma_j``)::

    dl/dSigma_j = -1/2 tr(P V_j) + 1/2 y' P V_j P y
    -d2l/dSigma_j dSigma_k = -1/2 tr(P V_j P V_k) + y' P V_j P V_k P y  (observed)
    E[...] = 1/2 tr(P V_j P V_k)                                       (expected)

:func:`fit` maximizes l by Newton's method with step halving, batched over replicates (the
expected information replaces the observed one where the latter is not positive
definite); replicates that do not converge are refitted one at a time by BFGS on the
log-Cholesky factor of Sigma and then polished by Newton steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

# Newton decrement g' I^-1 g (twice the predicted gain in log-likelihood) at which a fit
# has converged: estimates are then within ~1e-6 of their standard errors of the maximum.
DECREMENT_TOL = 1e-12
MAX_ITER = 50
_HALVINGS = 30


def _einsum(subscripts: str, *operands: np.ndarray) -> np.ndarray:
    """``np.einsum`` with contraction-order optimization (BLAS where it can)."""
    return np.einsum(subscripts, *operands, optimize=True)


@dataclass(frozen=True)
class Moments:
    """Per-pattern sums of one or many replicates (R replicates, P patterns).

    Attributes:
        patterns: Observed visits of each missingness pattern, (P, T) bool.
        count: Patients with each pattern, (R, P).
        xx: Sum of ``x_i x_i'``, (R, P, p, p).
        xy: Sum of ``x_i y_i'`` (unobserved y as 0), (R, P, p, T).
        yy: Sum of ``y_i y_i'`` (unobserved y as 0), (R, P, T, T).
    """

    patterns: np.ndarray
    count: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray

    def take(self, rows: np.ndarray) -> Moments:
        """The moments of some replicates."""
        return Moments(self.patterns, self.count[rows], self.xx[rows], self.xy[rows], self.yy[rows])

    def by_visit(self) -> tuple[np.ndarray, np.ndarray]:
        """Per visit: patients observed (R, T) and sum of ``x_i x_i'`` over them (R, T, p, p)."""
        d = self.patterns.astype(np.float64)
        return self.count @ d, _einsum("mt,rmkl->rtkl", d, self.xx)


def moments(y: np.ndarray, x: np.ndarray, seen: np.ndarray) -> Moments:
    """Per-pattern sums of replicate trials.

    Args:
        y: Outcomes, (R, N, T); values at unseen visits are ignored.
        x: Covariates, (R, N, p); must be finite for patients with a seen visit.
        seen: Visit observed, (R, N, T); patients with no seen visit are not analysed.

    Returns:
        The sums over the patterns that occur in any replicate.
    """
    n_rows, _, t = seen.shape
    p = x.shape[-1]
    code = (seen.astype(np.int64) << np.arange(t)).sum(-1)
    present = np.unique(code[code > 0])
    patterns = ((present[:, None] >> np.arange(t)) & 1).astype(bool)
    n_pat = len(present)
    used = code > 0
    key = (np.arange(n_rows)[:, None] * n_pat + np.searchsorted(present, code))[used]
    y0 = np.where(seen, y, 0.0)[used]
    xu = x[used]
    features = np.concatenate(
        [
            np.ones((len(key), 1)),
            (xu[:, :, None] * xu[:, None, :]).reshape(len(key), -1),
            (xu[:, :, None] * y0[:, None, :]).reshape(len(key), -1),
            (y0[:, :, None] * y0[:, None, :]).reshape(len(key), -1),
        ],
        axis=1,
    )
    sums = np.stack(
        [np.bincount(key, features[:, j], n_rows * n_pat) for j in range(features.shape[1])], -1
    ).reshape(n_rows, n_pat, -1)
    a, b = 1 + p * p, 1 + p * p + p * t
    return Moments(
        patterns=patterns,
        count=sums[..., 0],
        xx=sums[..., 1:a].reshape(n_rows, n_pat, p, p),
        xy=sums[..., a:b].reshape(n_rows, n_pat, p, t),
        yy=sums[..., b:].reshape(n_rows, n_pat, t, t),
    )


def vech_index(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each covariance parameter (the upper triangle, row by row)."""
    return np.triu_indices(t)


def _contract(m: np.ndarray, t: int) -> np.ndarray:
    """``tr(M E_j)`` for every parameter j, M (..., T, T): M_ss, or M_st + M_ts."""
    s, u = vech_index(t)
    return np.where(s == u, m[..., s, u], m[..., s, u] + m[..., u, s])


def unvech(theta: np.ndarray, t: int) -> np.ndarray:
    """Symmetric (..., T, T) matrices from their parameters (..., T(T+1)/2)."""
    s, u = vech_index(t)
    out = np.zeros((*theta.shape[:-1], t, t))
    out[..., s, u] = theta
    out[..., u, s] = theta
    return out


def positive_definite(sigma: np.ndarray) -> np.ndarray:
    """Whether each finite symmetric matrix (..., T, T) is positive definite."""
    finite = np.isfinite(sigma).all(axis=(-2, -1))
    safe = np.where(finite[..., None, None], sigma, 0.0)
    low = np.linalg.eigvalsh(safe)
    return finite & (low[..., 0] > 1e-12 * np.maximum(np.abs(low[..., -1]), 1e-300))


@dataclass(frozen=True)
class Terms:
    """The restricted likelihood and its pieces at Sigma, per replicate.

    Attributes:
        loglik: Restricted log-likelihood without its constant, (R,).
        beta: GLS fixed effects, (R, T, p).
        a_inv: ``(X'V^-1 X)^-1``, visit-major, (R, Tp, Tp).
        grad: Gradient in the covariance parameters, (R, K).
        observed: Observed information, (R, K, K) (None unless asked).
        expected: Expected information, (R, K, K) (None unless asked).
        w: ``W_m`` per pattern, (R, P, T, T).
    """

    loglik: np.ndarray
    beta: np.ndarray
    a_inv: np.ndarray
    grad: np.ndarray
    observed: np.ndarray | None
    expected: np.ndarray | None
    w: np.ndarray


def terms(sigma: np.ndarray, mom: Moments, information: bool = False) -> Terms:
    """Restricted likelihood, fixed effects and derivatives at Sigma (positive definite).

    Args:
        sigma: Covariance over visits, (R, T, T), positive definite.
        mom: The replicates' moments.
        information: Also compute the observed and expected information.
    """
    n_rows, _, p, t = mom.xy.shape
    d = mom.patterns.astype(np.float64)
    pad = (d[:, :, None] * d[:, None, :])[None] * sigma[:, None]
    pad += np.eye(t) * (1 - d)[None, :, None, :]
    w = np.linalg.inv(pad) * (d[:, :, None] * d[:, None, :])[None]
    w = 0.5 * (w + np.swapaxes(w, -1, -2))
    logdet = np.linalg.slogdet(pad)[1]
    s = mom.xx
    a = _einsum("rmst,rmkl->rsktl", w, s).reshape(n_rows, t * p, t * p)
    a_inv = np.linalg.inv(a)
    a_inv = 0.5 * (a_inv + np.swapaxes(a_inv, -1, -2))
    b = _einsum("rmst,rmkt->rsk", w, mom.xy).reshape(n_rows, t * p)
    beta_flat = _einsum("rij,rj->ri", a_inv, b)
    beta = beta_flat.reshape(n_rows, t, p)
    quad = _einsum("rmst,rmst->r", w, mom.yy) - _einsum("ri,ri->r", b, beta_flat)
    loglik = -0.5 * ((mom.count * logdet).sum(1) + np.linalg.slogdet(a)[1] + quad)
    # residual sums per pattern: R_m = sum r_i r_i', Q_m = sum x_i r_i'
    yf = _einsum("rmks,rtk->rmst", mom.xy, beta)
    resid = mom.yy - yf - np.swapaxes(yf, -1, -2) + _einsum("rsk,rmkl,rtl->rmst", beta, s, beta)
    c_m = _einsum("rsktl,rmkl->rmst", a_inv.reshape(n_rows, t, p, t, p), s)
    inner = resid + c_m - mom.count[..., None, None] * pad
    grad = _contract(0.5 * _einsum("rmab,rmbc,rmcd->rad", w, inner, w), t)
    observed = expected = None
    if information:
        observed, expected = _information(w, mom, a_inv, beta, resid, c_m)
    return Terms(loglik, beta, a_inv, grad, observed, expected, w)


def _wew(w: np.ndarray) -> np.ndarray:
    """``W_m E_j W_m`` for every parameter j: (R, P, K, T, T)."""
    t = w.shape[-1]
    s, u = vech_index(t)
    ws, wu = w[..., :, s], w[..., :, u]  # (R, P, T, K)
    out = _einsum("rmak,rmbk->rmkab", ws, wu)
    out += np.swapaxes(out, -1, -2)
    out[:, :, s == u] *= 0.5
    return out


def _information(
    w: np.ndarray,
    mom: Moments,
    a_inv: np.ndarray,
    beta: np.ndarray,
    resid: np.ndarray,
    c_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Observed and expected information in the covariance parameters, (R, K, K) each."""
    n_rows, _, p, t = mom.xy.shape
    s, u = vech_index(t)
    wew = _wew(w)
    k = wew.shape[2]

    def contract_first(m: np.ndarray) -> np.ndarray:
        """``tr(E_j M_k)`` for M (R, K, T, T): (R, j, k)."""
        sym = m + np.swapaxes(m, -1, -2)
        return np.swapaxes(np.where(s == u, 0.5, 1.0) * sym[..., s, u], -1, -2)

    # tr(P V_j P V_k) = a - 2 b + c
    a = contract_first(_einsum("rm,rmkab->rkab", mom.count, wew))
    wc = w @ c_m
    b = contract_first(_einsum("rmab,rmkbc->rkac", wc, wew))
    f = _einsum("rmjst,rmkl->rjsktl", wew, mom.xx).reshape(n_rows, k, t * p, t * p)
    af = a_inv[:, None] @ f
    c = _einsum("rjab,rkba->rjk", af, af)
    trace = a - b - np.swapaxes(b, -1, -2) + c
    # y' P V_j P V_k P y = d - e
    rw = resid @ w
    d = contract_first(_einsum("rmkab,rmbc->rkac", wew, rw))
    q = mom.xy - _einsum("rmkl,rtl->rmkt", mom.xx, beta)
    v = _einsum("rmjts,rmks->rjtk", wew, q).reshape(n_rows, k, t * p)
    e = _einsum("rja,rab,rkb->rjk", v, a_inv, v)
    quad = 0.5 * (d + np.swapaxes(d, -1, -2)) - e
    return -0.5 * trace + quad, 0.5 * trace


def _newton_step(tm: Terms) -> tuple[np.ndarray, np.ndarray]:
    """Newton direction (observed information, else expected) and decrement per replicate."""
    info = np.where(positive_definite(tm.observed)[:, None, None], tm.observed, tm.expected)
    usable = positive_definite(info)
    info = np.where(usable[:, None, None], info, np.eye(info.shape[-1]))
    step = np.linalg.solve(info, tm.grad[..., None])[..., 0]
    decrement = np.where(usable, _einsum("rj,rj->r", tm.grad, step), np.nan)
    return step, decrement


def start(mom: Moments) -> np.ndarray:
    """Starting Sigma: pairwise covariances of the per-visit least-squares residuals.

    Replicates where that matrix is not positive definite start from its diagonal.
    """
    d = mom.patterns.astype(np.float64)
    n_t, xx_t = mom.by_visit()
    xy_t = _einsum("mt,rmkt->rtk", d, mom.xy)
    with np.errstate(all="ignore"):
        beta = np.linalg.solve(
            np.where(n_t[..., None, None] > 0, xx_t, np.eye(xx_t.shape[-1])), xy_t[..., None]
        )[..., 0]
        yf = _einsum("rmks,rtk->rmst", mom.xy, beta)
        resid = (
            mom.yy
            - yf
            - np.swapaxes(yf, -1, -2)
            + _einsum("rsk,rmkl,rtl->rmst", beta, mom.xx, beta)
        )
        both = d[:, :, None] * d[:, None, :]
        sigma = _einsum("mst,rmst->rst", both, resid) / _einsum("mst,rm->rst", both, mom.count)
    diagonal = np.eye(sigma.shape[-1]) * np.diagonal(sigma, axis1=-2, axis2=-1)[..., None, :]
    return np.where(positive_definite(sigma)[:, None, None], sigma, diagonal)


def _newton(sigma: np.ndarray, mom: Moments, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Batched Newton iterations with step halving: (Sigma, converged) per replicate."""
    t = sigma.shape[-1]
    sigma = sigma.copy()
    converged = np.zeros(len(sigma), bool)
    active = np.flatnonzero(positive_definite(sigma))
    for _ in range(max_iter):
        if not len(active):
            break
        sub = mom.take(active)
        tm = terms(sigma[active], sub, information=True)
        step, decrement = _newton_step(tm)
        done = decrement < DECREMENT_TOL
        converged[active[done]] = True
        stuck = ~np.isfinite(decrement)
        move = ~done & ~stuck
        rows, step, old = active[move], step[move], tm.loglik[move]
        scale = np.ones(len(rows))
        accepted = np.zeros(len(rows), bool)
        for _ in range(_HALVINGS):
            todo = np.flatnonzero(~accepted)
            if not len(todo):
                break
            trial = sigma[rows[todo]] + scale[todo, None, None] * unvech(step[todo], t)
            ok = positive_definite(trial)
            better = np.zeros(len(todo), bool)
            if ok.any():
                value = terms(trial[ok], mom.take(rows[todo][ok])).loglik
                slack = 1e-10 * np.maximum(1.0, np.abs(old[todo][ok]))
                better[ok] = value >= old[todo][ok] - slack
            sigma[rows[todo[better]]] = trial[better]
            accepted[todo[better]] = True
            scale[todo[~better]] *= 0.5
        active = rows[accepted]
    return sigma, converged


def _cholesky_fit(sigma: np.ndarray, mom: Moments) -> np.ndarray:
    """One replicate's Sigma maximizing l by BFGS on its log-Cholesky factor."""
    t = sigma.shape[-1]
    low = np.tril_indices(t)
    diag = low[0] == low[1]
    s, u = vech_index(t)
    halve = np.where(s == u, 1.0, 0.5)  # tr(G E_j) counts an off-diagonal G_st twice

    def factor(phi: np.ndarray) -> np.ndarray:
        chol = np.zeros((t, t))
        chol[low] = np.where(diag, np.exp(np.minimum(phi, 700)), phi)
        return chol

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        chol = factor(phi)
        tm = terms((chol @ chol.T)[None], mom)
        if not np.isfinite(tm.loglik[0]):
            return np.inf, np.zeros_like(phi)
        dchol = 2 * unvech(tm.grad[0] * halve, t) @ chol
        gphi = np.where(diag, dchol[low] * chol[low], dchol[low])
        return -tm.loglik[0], -gphi

    chol0 = np.linalg.cholesky(sigma)
    phi0 = np.where(diag, np.log(chol0[low]), chol0[low])
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            objective, phi0, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000}
        )
    chol = factor(res.x)
    return chol @ chol.T


def fit(mom: Moments, max_iter: int = MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """REML estimate of Sigma per replicate.

    Args:
        mom: The replicates' moments; every visit's design ``sum x_i x_i'`` over the
            patients seen there must be non-singular.
        max_iter: Newton iterations of the batched fit.

    Returns:
        ``(sigma, converged)``: (R, T, T) and (R,) bool. Replicates the batched Newton
        iterations leave unconverged are refitted one at a time (BFGS on the
        log-Cholesky factor, then Newton); ``converged`` is False where that fails too.
    """
    with np.errstate(all="ignore"):
        sigma, converged = _newton(start(mom), mom, max_iter)
        for r in np.flatnonzero(~converged):
            one = mom.take(np.array([r]))
            first = start(one)
            if not positive_definite(first)[0]:
                continue
            polished, ok = _newton(_cholesky_fit(first[0], one)[None], one, MAX_ITER)
            sigma[r], converged[r] = polished[0], ok[0]
    return sigma, converged


def satterthwaite(mom: Moments, tm: Terms, contrast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variance and Satterthwaite df of a contrast of the fixed effects, per replicate.

    ``v = c' A^-1 c`` with A = X'V^-1 X at the REML estimate, and
    ``df = 2 v^2 / (g' I^-1 g)``, g the gradient of v in the covariance parameters and I
    the observed information (the Hessian of the restricted log-likelihood, as in the R
    packages mmrm and lmerTest). NaN df where I is not positive definite.

    Args:
        mom: The replicates' moments.
        tm: :func:`terms` at the REML estimate, with ``information=True``.
        contrast: Weights of the fixed effects, (T, p).
    """
    n_rows, _, p, t = mom.xy.shape
    c = contrast.reshape(-1)
    u = tm.a_inv @ c
    variance = u @ c
    big_u = u.reshape(n_rows, t, p)
    h = _einsum("rmab,rbk,rmkl,rcl,rmcd->rad", tm.w, big_u, mom.xx, big_u, tm.w)
    g = _contract(h, t)
    usable = positive_definite(tm.observed)
    info = np.where(usable[:, None, None], tm.observed, np.eye(g.shape[-1]))
    spread = _einsum("rj,rj->r", g, np.linalg.solve(info, g[..., None])[..., 0])
    return variance, np.where(usable, 2 * variance**2 / spread, np.nan)
