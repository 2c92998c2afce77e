"""A fused full-batch GD trainer for many two-layer nets at once (numba; configurations as SIMD lanes).

For ``Sequential(Linear(d, m), σ, Linear(m, k))`` with σ positively homogeneous (ReLU, LeakyReLU
with slope s, Identity: σ(z) = z for z > 0, s z otherwise, s = 0 for ReLU, 1 for Identity), member
b follows exactly the update of :func:`gaugelab.train` with ``optimizer="gd"``:

    θ ← θ − η_b (∇L(θ) + ∇R_{λ_b}(θ) + μ_b θ),   L = (1/2N) Σ_n ‖f_θ(x_n) − y_n‖²,   R_λ = (λ/4) Σ_j δ_j²,

(torch.optim.SGD's weight decay μ on every parameter) with the gradients derived by hand (THEORY
§1, §4; u_j = (w_j, b_j) incoming, a_j = W2[:, j] outgoing, c the output bias):

    z_nj = w_j·x_n + b_j,   h_nj = σ(z_nj),   f_n = Σ_j a_j h_nj + c,   e_n = (f_n − y_n) / N,
    ∇_c L = Σ_n e_n,   ∇_{a_j} L = Σ_n e_n h_nj,
    ∇_{w_j} L = Σ_n g_nj x_n,   ∇_{b_j} L = Σ_n g_nj,   g_nj = σ'(z_nj) a_j·e_n,
    σ'(z) = 1 for z > 0, s otherwise (the subgradient torch uses: 0 at z = 0 for ReLU),
    δ_j = ‖u_j‖² − ‖a_j‖²,   ∇_{u_j} R = λ δ_j u_j,   ∇_{a_j} R = −λ δ_j a_j,   ∇_c R = 0.

This module is the package's one copy of that computation. A missing bias is held at zero and never
updated. The divergence rule and what is recorded are those of :func:`gaugelab.ensemble.ensemble_train`:
at step t the loss L(θ_t) (no penalty) is computed before the update; a member whose parameters or
loss are not finite, or whose loss exceeds its threshold ``divergence_factor`` × max(L(θ_0), L_0, 1e-12),
stops at step t with its last finite parameters θ_{t−1}; at record steps L(θ_t), δ(θ_t) and the
validation MSE (1/(N_v k)) Σ ‖f_θ(x_v) − y_v‖² are stored.

Layout: members are processed in blocks of :data:`LANES`, one member per SIMD lane, so every
arithmetic operation is elementwise across members and nothing is re-associated (``fastmath`` is
off): a member's numbers do not depend on its block, its lane, the other members or the number of
threads (the tests check bit-identity). For d = k = 1 two samples go through each pass together (the
same operations in the same order, half the memory traffic). Blocks run on ``threads`` threads (a
compiled ``nogil`` kernel, handed out one block at a time, which balances the load; numba's
``parallel=True`` would double the compile time). A member that diverges leaves its block at once
(the block's last live member takes its lane); training proceeds in chunks of steps, after each of
which the members still running are packed into full blocks again, so diverged members stop costing
work. The kernel is compiled on its first call and cached on disk by numba (``cache=True``; the
one-off compile takes seconds, later processes load it in well under a second).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

try:  # numba is a dependency; without it ensemble_train falls back to its vmap path
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

#: Members per block: four AVX-512 registers of float64 lanes, the width of the vectorised loop body.
LANES = 32


def available() -> bool:
    """Whether numba (hence the fused trainer) is importable here."""
    return numba is not None


def _forward(xs, s, w1, b1, w2, b2, z, h, f, nl, is_relu, slope):
    """f[:, l] = W2 σ(z) + b2 with z[:, l] = W1 x_s + b1 (z, h kept for the backward pass)."""
    m, d = w1.shape[0], w1.shape[1]
    k = w2.shape[0]
    x0 = xs[s, 0]
    for o in range(k):
        for ln in range(nl):
            f[o, ln] = b2[o, ln]
    for j in range(m):
        if d == 1 and k == 1:
            for ln in range(nl):
                zz = b1[j, ln] + w1[j, 0, ln] * x0
                z[j, ln] = zz
                hh = zz if zz > 0.0 else (0.0 if is_relu else zz * slope)
                h[j, ln] = hh
                f[0, ln] += w2[0, j, ln] * hh
        else:
            for ln in range(nl):
                z[j, ln] = b1[j, ln] + w1[j, 0, ln] * x0
            for i in range(1, d):
                xi = xs[s, i]
                for ln in range(nl):
                    z[j, ln] += w1[j, i, ln] * xi
            for ln in range(nl):
                zz = z[j, ln]
                h[j, ln] = zz if zz > 0.0 else (0.0 if is_relu else zz * slope)
            for o in range(k):
                for ln in range(nl):
                    f[o, ln] += w2[o, j, ln] * h[j, ln]


def _backward(xs, s, w2, z, h, e, gw1, gb1, gw2, gb2, gh, nl, is_relu, slope):
    """Add sample s's gradient: ∇c += e, ∇a_j += e h_j, g_j = σ'(z_j) a_j·e, ∇w_j += g_j x_s, ∇b_j += g_j."""
    m, d = gw1.shape[0], gw1.shape[1]
    k = w2.shape[0]
    x0 = xs[s, 0]
    for o in range(k):
        for ln in range(nl):
            gb2[o, ln] += e[o, ln]
    for j in range(m):
        if d == 1 and k == 1:
            for ln in range(nl):
                ee = e[0, ln]
                gw2[0, j, ln] += ee * h[j, ln]
                gg = w2[0, j, ln] * ee
                gg = gg if z[j, ln] > 0.0 else (0.0 if is_relu else gg * slope)
                gb1[j, ln] += gg
                gw1[j, 0, ln] += gg * x0
        else:
            for ln in range(nl):
                gh[ln] = 0.0
            for o in range(k):
                for ln in range(nl):
                    gw2[o, j, ln] += e[o, ln] * h[j, ln]
                    gh[ln] += w2[o, j, ln] * e[o, ln]
            for ln in range(nl):
                gg = gh[ln]
                gg = gg if z[j, ln] > 0.0 else (0.0 if is_relu else gg * slope)
                gh[ln] = gg
                gb1[j, ln] += gg
            for i in range(d):
                xi = xs[s, i]
                for ln in range(nl):
                    gw1[j, i, ln] += gh[ln] * xi


def _pair(
    x, y, s, w1, b1, w2, b2, z, z2, f, f2, e, e2, sq, gw1, gb1, gw2, gb2, nl, is_relu, slope, inv_n, grad
):
    """Samples s and s + 1 of a net with d = k = 1 at once: the same operations in the same order as
    :func:`_forward` + :func:`_backward` on each in turn (bit for bit), with half the memory traffic."""
    m = w1.shape[0]
    xa, xb = x[s, 0], x[s + 1, 0]
    for ln in range(nl):
        f[0, ln] = b2[0, ln]
        f2[0, ln] = b2[0, ln]
    for j in range(m):
        for ln in range(nl):
            bb, ww, aa = b1[j, ln], w1[j, 0, ln], w2[0, j, ln]
            za = bb + ww * xa
            zb = bb + ww * xb
            z[j, ln] = za
            z2[j, ln] = zb
            ha = za if za > 0.0 else (0.0 if is_relu else za * slope)
            hb = zb if zb > 0.0 else (0.0 if is_relu else zb * slope)
            f[0, ln] += aa * ha
            f2[0, ln] += aa * hb
    ya, yb = y[s, 0], y[s + 1, 0]
    for ln in range(nl):
        ra = f[0, ln] - ya
        rb = f2[0, ln] - yb
        sq[ln] += ra * ra
        sq[ln] += rb * rb
        e[0, ln] = ra * inv_n
        e2[0, ln] = rb * inv_n
    if not grad:
        return
    for ln in range(nl):
        gb2[0, ln] += e[0, ln]
        gb2[0, ln] += e2[0, ln]
    for j in range(m):
        for ln in range(nl):
            aa, ea, eb, za, zb = w2[0, j, ln], e[0, ln], e2[0, ln], z[j, ln], z2[j, ln]
            ha = za if za > 0.0 else (0.0 if is_relu else za * slope)
            hb = zb if zb > 0.0 else (0.0 if is_relu else zb * slope)
            ga = aa * ea
            gb = aa * eb
            ga = ga if za > 0.0 else (0.0 if is_relu else ga * slope)
            gb = gb if zb > 0.0 else (0.0 if is_relu else gb * slope)
            q = gw2[0, j, ln] + ea * ha
            gw2[0, j, ln] = q + eb * hb
            q = gb1[j, ln] + ga
            gb1[j, ln] = q + gb
            q = gw1[j, 0, ln] + ga * xa
            gw1[j, 0, ln] = q + gb * xb


def _views(a, m, d, k, has_b1, has_b2, lanes, zeros_m, zeros_k):
    """(w1 (m, d, L), b1 (m, L), w2 (k, m, L), b2 (k, L)) views of a (P, L) block of flat parameters."""
    o1 = m * d
    o2 = o1 + (m if has_b1 else 0)
    o3 = o2 + k * m
    w1 = a[0:o1].reshape((m, d, lanes))
    b1 = a[o1:o2] if has_b1 else zeros_m
    w2 = a[o2:o3].reshape((k, m, lanes))
    b2 = a[o3 : o3 + k] if has_b2 else zeros_k
    return w1, b1, w2, b2


def _kernel(
    x, y, xv, yv, theta, theta_prev, ok, lr, lam, mu, thr, factor, zero_scale, m, has_b1, has_b2,
    is_relu, slope, order, t0, t1, steps, rec_index, loss_rec, val_rec, delta_rec, div_step, passes, lanes,
    blk_lo, blk_hi,
):  # fmt: skip
    """Run steps t0 ≤ t < t1 of blocks blk_lo ≤ blk < blk_hi of the members ``order``, in place.

    theta, theta_prev: (B, P) flat parameters (torch's order: W1, b1, W2, b2) at θ_t and θ_{t−1}.
    """
    n_active = order.shape[0]
    n, d = x.shape
    k = y.shape[1]
    nv = xv.shape[0]
    n_par = theta.shape[1]
    inv_n = 1.0 / n
    for blk in range(blk_lo, blk_hi):
        lo = blk * lanes
        nl = min(lanes, n_active - lo)
        ids = np.empty(lanes, dtype=np.int64)
        eta, lm, wd, th = np.zeros(lanes), np.zeros(lanes), np.zeros(lanes), np.zeros(lanes)
        lossv = np.zeros(lanes)
        fin = np.zeros(lanes, dtype=np.bool_)
        par, prv, grd = np.zeros((n_par, lanes)), np.zeros((n_par, lanes)), np.zeros((n_par, lanes))
        for ln in range(nl):
            b = order[lo + ln]
            ids[ln] = b
            eta[ln], lm[ln], wd[ln], th[ln], fin[ln] = lr[b], lam[b], mu[b], thr[b], ok[b]
            for p in range(n_par):
                par[p, ln] = theta[b, p]
                prv[p, ln] = theta_prev[b, p]
        # a missing bias is a zero block of its own (never updated); its gradient goes to a scratch block
        w1, b1, w2, b2 = _views(
            par, m, d, k, has_b1, has_b2, lanes, np.zeros((m, lanes)), np.zeros((k, lanes))
        )
        gw1, gb1, gw2, gb2 = _views(
            grd, m, d, k, has_b1, has_b2, lanes, np.zeros((m, lanes)), np.zeros((k, lanes))
        )
        z, h, f, e = np.zeros((m, lanes)), np.zeros((m, lanes)), np.zeros((k, lanes)), np.zeros((k, lanes))
        z2, f2, e2 = np.zeros((m, lanes)), np.zeros((k, lanes)), np.zeros((k, lanes))
        gh, sq, acc = np.zeros(lanes), np.zeros(lanes), np.zeros(lanes)
        delta = np.zeros((m, lanes))
        for t in range(t0, t1):
            if nl == 0:
                break
            grad = t < steps
            sq[:nl] = 0.0
            if grad:
                grd[:, :nl] = 0.0
            first = 0
            if d == 1 and k == 1:  # samples two at a time (bit-identical, less memory traffic)
                while first + 1 < n:
                    _pair(x, y, first, w1, b1, w2, b2, z, z2, f, f2, e, e2, sq, gw1, gb1, gw2, gb2, nl,
                          is_relu, slope, inv_n, grad)  # fmt: skip
                    first += 2
            for s in range(first, n):
                _forward(x, s, w1, b1, w2, b2, z, h, f, nl, is_relu, slope)
                for o in range(k):
                    yo = y[s, o]
                    for ln in range(nl):
                        r = f[o, ln] - yo
                        sq[ln] += r * r
                        e[o, ln] = r * inv_n
                if grad:
                    _backward(x, s, w2, z, h, e, gw1, gb1, gw2, gb2, gh, nl, is_relu, slope)
            # divergence check on L(θ_t); a diverged lane keeps θ_{t−1} and is replaced by the last live lane
            ln = 0
            for ln in range(nl):
                passes[ids[ln]] += 1
            ln = 0
            while ln < nl:
                loss = 0.5 * sq[ln] * inv_n
                if t == 0:
                    th[ln] = factor * max(loss, zero_scale, 1e-12)
                if fin[ln] and np.isfinite(loss) and loss <= th[ln]:
                    lossv[ln] = loss
                    ln += 1
                    continue
                b = ids[ln]
                div_step[b] = t
                for p in range(n_par):
                    theta[b, p] = prv[p, ln]
                nl -= 1
                if ln < nl:
                    src = nl
                    ids[ln], eta[ln], lm[ln], wd[ln] = ids[src], eta[src], lm[src], wd[src]
                    th[ln], fin[ln], sq[ln] = th[src], fin[src], sq[src]
                    for p in range(n_par):
                        par[p, ln] = par[p, src]
                        prv[p, ln] = prv[p, src]
                        grd[p, ln] = grd[p, src]
            if nl == 0:
                break
            # δ_j = ‖u_j‖² − ‖a_j‖²
            for j in range(m):
                for ln in range(nl):
                    delta[j, ln] = b1[j, ln] * b1[j, ln]
                for i in range(d):
                    for ln in range(nl):
                        delta[j, ln] += w1[j, i, ln] * w1[j, i, ln]
                for o in range(k):
                    for ln in range(nl):
                        delta[j, ln] -= w2[o, j, ln] * w2[o, j, ln]
            r_idx = rec_index[t]
            if r_idx >= 0:
                for ln in range(nl):
                    b = ids[ln]
                    loss_rec[b, r_idx] = lossv[ln]
                    for j in range(m):
                        delta_rec[b, r_idx, j] = delta[j, ln]
                if nv > 0:
                    acc[:nl] = 0.0
                    for s in range(nv):
                        _forward(xv, s, w1, b1, w2, b2, z, h, f, nl, is_relu, slope)
                        for o in range(k):
                            yo = yv[s, o]
                            for ln in range(nl):
                                r = f[o, ln] - yo
                                acc[ln] += r * r
                    for ln in range(nl):
                        val_rec[ids[ln], r_idx] = acc[ln] / (nv * k)
            if not grad:
                continue
            # θ_{t−1} ← θ_t;  θ_{t+1} = θ_t − η (∇L + ∇R_λ + μ θ_t);  fin ← θ_{t+1} finite
            prv[:, :nl] = par[:, :nl]
            for j in range(m):
                for ln in range(nl):
                    gh[ln] = lm[ln] * delta[j, ln] if lm[ln] > 0.0 else 0.0
                for i in range(d):
                    for ln in range(nl):
                        gw1[j, i, ln] += gh[ln] * w1[j, i, ln]
                if has_b1:
                    for ln in range(nl):
                        gb1[j, ln] += gh[ln] * b1[j, ln]
                for o in range(k):
                    for ln in range(nl):
                        gw2[o, j, ln] -= gh[ln] * w2[o, j, ln]
            for ln in range(nl):
                gh[ln] = 0.0
            for p in range(n_par):
                for ln in range(nl):
                    q = par[p, ln]
                    q = q - eta[ln] * (grd[p, ln] + wd[ln] * q)
                    par[p, ln] = q
                    gh[ln] += q * 0.0
            for ln in range(nl):
                fin[ln] = gh[ln] == 0.0
        for ln in range(nl):
            b = ids[ln]
            ok[b], thr[b] = fin[ln], th[ln]
            for p in range(n_par):
                theta[b, p] = par[p, ln]
                theta_prev[b, p] = prv[p, ln]


if numba is not None:
    _jit = numba.njit(fastmath=False, cache=True, error_model="numpy")
    _forward, _backward, _pair, _views = _jit(_forward), _jit(_backward), _jit(_pair), _jit(_views)
    _kernel = numba.njit(nogil=True, fastmath=False, cache=True, error_model="numpy")(_kernel)


def _chunks(steps: int):
    """Step ranges [t0, t1) covering 0..steps: short first (early divergences get compacted soon)."""
    t0, size = 0, 16
    while t0 <= steps:
        t1 = min(t0 + size, steps + 1)
        yield t0, t1
        t0, size = t1, min(2 * size, 128)


def run(
    theta, x, y, x_val, y_val, *, width, has_b1, has_b2, is_relu, slope, lr, lam, mu, steps, record_steps,
    divergence_factor, threads, on_chunk=None, lanes=LANES,
):  # fmt: skip
    """Train B members given as flat float64 parameters ``theta`` (B, P) in torch's order (W1, b1, W2, b2).

    ``width``: m; ``has_b1``/``has_b2``: whether the two Linear layers have biases. ``lr``, ``lam``,
    ``mu``: (B,). ``x_val``/``y_val`` may be None. ``record_steps``: increasing steps to record at.
    ``on_chunk(n_active_before, n_active_after, t0, t1)`` is called after each chunk of steps.
    Returns (final θ (B, P), loss (B, R), val MSE (B, R) or None, δ (B, R, m), diverged_step (B,),
    passes (B,): how many times each member's loss was evaluated, t + 1 for one that diverged at t).
    """
    if numba is None:
        raise RuntimeError("backend: the fused trainer needs numba, which is not installed")
    b, m = theta.shape[0], int(width)
    r = len(record_steps)
    rec_index = np.full(steps + 1, -1, dtype=np.int64)
    rec_index[np.asarray(record_steps, dtype=np.int64)] = np.arange(r)
    theta = np.array(theta, dtype=np.float64, order="C", copy=True)
    theta_prev = theta.copy()
    has_val = x_val is not None
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    xv = np.ascontiguousarray(x_val if has_val else np.zeros((0, x.shape[1])), dtype=np.float64)
    yv = np.ascontiguousarray(y_val if has_val else np.zeros((0, y.shape[1])), dtype=np.float64)
    zero_scale = float(0.5 * (y * y).sum(axis=1).mean())
    nan = float("nan")
    loss_rec, val_rec = np.full((b, r), nan), np.full((b, r), nan)
    delta_rec = np.full((b, r, m), nan)
    div_step = np.full(b, -1, dtype=np.int64)
    passes = np.zeros(b, dtype=np.int64)
    ok = np.ones(b, dtype=np.bool_)
    thr = np.full(b, np.inf)
    lr, lam, mu = (np.ascontiguousarray(v, dtype=np.float64) for v in (lr, lam, mu))
    order = np.arange(b, dtype=np.int64)
    threads = max(1, int(threads))
    with ThreadPoolExecutor(max_workers=threads) if threads > 1 else nullcontext() as pool:
        for t0, t1 in _chunks(steps):
            if order.size == 0:
                break
            common = (
                x, y, xv, yv, theta, theta_prev, ok, lr, lam, mu, thr, float(divergence_factor), zero_scale,
                m, bool(has_b1), bool(has_b2), bool(is_relu), float(slope), order, t0, t1, steps, rec_index,
                loss_rec, val_rec, delta_rec, div_step, passes, int(lanes),
            )  # fmt: skip
            n_blocks = -(-order.size // lanes)
            if pool is None:
                _kernel(*common, 0, n_blocks)
            else:  # one task per block: threads take the next block when done (members never share one)
                for task in [pool.submit(_kernel, *common, i, i + 1) for i in range(n_blocks)]:
                    task.result()
            before = order.size
            order = order[div_step[order] < 0]
            if on_chunk is not None:
                on_chunk(before, order.size, t0, t1)
    return theta, loss_rec, (val_rec if has_val else None), delta_rec, div_step, passes
