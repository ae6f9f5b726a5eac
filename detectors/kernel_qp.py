"""The convex dual of semi-supervised SVDD (SSAD, Görnitz et al. 2013), solved exactly with cvxopt.

The primal, in our notation (``s_i`` is +1 for an unlabelled sample and for a labelled normal,
-1 for a labelled anomaly; ``l_i`` is 1 for a labelled sample and 0 otherwise; ``rho`` is the
margin that the labelled samples must keep from the sphere's surface):

    min_{R, c, rho >= 0, xi >= 0}  R^2 - kappa*rho + sum_i C_i xi_i
    s.t.  s_i (R^2 - ||phi(x_i) - c||^2) >= l_i*rho - xi_i     for every i

(``C_i`` is ``C1`` for unlabelled samples and ``C2`` for labelled ones). Setting the derivatives
of its Lagrangian to zero gives ``c = sum_j s_j alpha_j phi(x_j)``, ``sum_j s_j alpha_j = 1``
(from R^2), ``sum_j l_j alpha_j >= kappa`` (from rho >= 0) and ``0 <= alpha_j <= C_j`` (from
xi). Substituting back, the dual that :func:`solve_ssad_dual` solves is the convex QP

    min_alpha  1/2 alpha' Q alpha - 1/2 sum_i s_i K_ii alpha_i,      Q = (s s') * K
    s.t.       0 <= alpha_i <= C_i,   sum_i s_i alpha_i = 1,   sum_i l_i alpha_i >= kappa

(the objective is half the negated dual function). Without labels the last constraint
disappears and the problem is the SVDD dual. The squared distance of a point to the centre is
``K(x,x) - 2 sum_j s_j alpha_j K(x_j,x) + alpha' Q alpha``; the squared radius is the distance of
unlabelled points strictly inside the box (on the sphere's surface).

The primal is not convex (a labelled anomaly must lie outside a ball), but this dual is; like the
authors' public code, the suite solves the dual. The problem is solved to cvxopt's interior-point tolerances on the whole kernel matrix (no
subsampling, no decomposition): the dense matrix of 6,000 points takes about 300 MB.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# cvxopt's interior-point tolerances (its defaults, written out so they are visible).
ABSTOL = 1e-7
RELTOL = 1e-6
FEASTOL = 1e-7
MAX_ITERS = 200
# alpha below this fraction of the largest alpha is treated as zero (not a support vector);
# the same fraction of the box decides which support vectors lie strictly inside it.
SUPPORT_TOL = 1e-6


@dataclass
class SSADSolution:
    """The dual solution and the quantities needed to score new points."""

    alpha: np.ndarray  # (n,) dual variables
    signed_alpha: np.ndarray  # (n,) s_i * alpha_i: the centre's coefficients
    center_sq_norm: float  # ||c||^2 = alpha' Q alpha
    radius_sq: float  # R^2
    status: str  # cvxopt's status ("optimal" when converged)
    iterations: int
    train_dist_sq: np.ndarray  # (n,) squared distance of each training point to the centre


def solve_ssad_dual(K: np.ndarray, signs: np.ndarray, labelled: np.ndarray, *, C1: float, C2: float,
                    kappa: float, verbose: bool = False) -> SSADSolution:
    """Solve the SSAD dual above for kernel matrix ``K`` (n x n, consumed: it is overwritten).

    ``signs`` is ``s`` (+1/-1), ``labelled`` is ``l`` (bool). ``kappa`` only matters when some
    sample is labelled. Raises ``RuntimeError`` when cvxopt finds the problem infeasible.
    """
    from cvxopt import matrix, solvers, sparse, spmatrix

    n = len(K)
    signs = np.asarray(signs, dtype=np.float64)
    labelled = np.asarray(labelled, dtype=bool)
    _check_feasible(signs, labelled, C1, C2, kappa)
    diag = np.diag(K).copy()
    # Q = (s s') * K, built in place to keep a single dense n x n array besides cvxopt's copy.
    K *= signs[:, None]
    K *= signs[None, :]
    Q = matrix(K)
    del K
    q = matrix(-0.5 * signs * diag)
    box = np.where(labelled, C2, C1).astype(np.float64)
    eye = spmatrix(1.0, range(n), range(n))
    G_rows, h_parts = [eye, -eye], [matrix(box), matrix(0.0, (n, 1))]
    if labelled.any():
        G_rows.append(spmatrix(-1.0, [0] * int(labelled.sum()), np.flatnonzero(labelled).tolist(), (1, n)))
        h_parts.append(matrix(-float(kappa), (1, 1)))
    G, h = sparse(G_rows), matrix(h_parts)
    A, b = matrix(signs.reshape(1, n)), matrix(1.0)
    options = {"show_progress": verbose, "abstol": ABSTOL, "reltol": RELTOL, "feastol": FEASTOL, "maxiters": MAX_ITERS}
    result = solvers.qp(Q, q, G, h, A, b, options=options)
    if result["status"] != "optimal" and result["x"] is None:
        raise RuntimeError(f"SSAD dual: cvxopt returned status {result['status']!r} without a solution")
    if "infeasible" in str(result["status"]):
        raise RuntimeError(f"SSAD dual is {result['status']}: check C1, C2 and kappa against the number of samples")
    alpha = np.clip(np.array(result["x"]).reshape(-1), 0.0, box)
    Q_np = np.asarray(Q)  # a view of cvxopt's buffer (no copy)
    Q_alpha = Q_np @ alpha
    center_sq_norm = float(alpha @ Q_alpha)
    # K @ (s*alpha) = s * (Q @ alpha)
    dist_sq = diag - 2.0 * signs * Q_alpha + center_sq_norm
    radius_sq = _radius_sq(alpha, box, labelled, dist_sq)
    return SSADSolution(alpha=alpha, signed_alpha=signs * alpha, center_sq_norm=center_sq_norm,
                        radius_sq=radius_sq, status=str(result["status"]), iterations=int(result["iterations"]),
                        train_dist_sq=dist_sq)


def _check_feasible(signs: np.ndarray, labelled: np.ndarray, C1: float, C2: float, kappa: float) -> None:
    """Refuse boxes too small for the constraints (the case of unlabelled + labelled anomalies only).

    With no labelled normals, sum s_i alpha_i = 1 forces the unlabelled mass to be 1 plus the
    anomalies' mass, which is at least kappa: so n_unlabelled * C1 >= 1 + kappa and
    n_anomalies * C2 >= kappa are needed.
    """
    if (labelled & (signs > 0)).any():
        return  # labelled normals add mass; leave the general case to the solver
    n_unl, n_anom = int((~labelled).sum()), int(labelled.sum())
    need = 1.0 + (kappa if n_anom else 0.0)
    if n_unl * C1 < need or n_anom * C2 < (kappa if n_anom else 0.0):
        raise ValueError(f"SSAD dual is infeasible: {n_unl} unlabelled samples x C1={C1} must reach {need} and "
                         f"{n_anom} labelled anomalies x C2={C2} must reach kappa={kappa}; raise C1/C2 or lower kappa")


def _radius_sq(alpha: np.ndarray, box: np.ndarray, labelled: np.ndarray, dist_sq: np.ndarray) -> float:
    """R^2: mean distance of unlabelled points strictly inside the box (they lie on the surface).

    When there is none (possible at the solver's tolerance), the midpoint between the farthest
    unlabelled point with alpha = 0 (inside the sphere) and the nearest at alpha = C (outside).
    """
    tol = SUPPORT_TOL * max(float(alpha.max()), 1e-12)
    unl = ~labelled
    on_surface = unl & (alpha > tol) & (alpha < box - SUPPORT_TOL * box)
    if on_surface.any():
        return float(dist_sq[on_surface].mean())
    inside = unl & (alpha <= tol)
    outside = unl & (alpha > tol)
    lo = float(dist_sq[inside].max()) if inside.any() else float(dist_sq[unl].min())
    hi = float(dist_sq[outside].min()) if outside.any() else lo
    return 0.5 * (lo + hi)
