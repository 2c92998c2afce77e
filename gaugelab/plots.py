"""Pure plotting functions: experiment results in, ``plotly.graph_objects.Figure`` out (no widgets).

One function per figure of the reproduction (:mod:`gaugelab.experiments`, :mod:`gaugelab.regimes`).
Every figure uses the GaugeLab template (:func:`gaugelab.theme.template`), its colour-blind-safe
colours (each arm has one colour everywhere, :data:`gaugelab.theme.ROLE_COLORS`; maps use
:data:`gaugelab.theme.SEQUENTIAL`), log axes with one labelled tick per decade
(:func:`gaugelab.theme.log_axis`) and axis titles. Diverged runs are never drawn as NaN:
statistics are over the qualifying seeds, points without one are left out, and their number is in
the hover text.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gaugelab import theme
from gaugelab.data import Dataset

#: Colour of each arm (the same in every figure of the course).
ARM_ROLE = {
    "baseline": "baseline",
    "gauge_fixed": "gauge_fixed",
    "balanced_init": "balanced_init",
    "weight_decay": "weight_decay",
}
ARM_COLORS = (theme.ROLE_COLORS["baseline"], theme.ROLE_COLORS["gauge_fixed"])


#: Short arm names for tick labels.
SHORT = {
    "baseline": "baseline",
    "gauge_fixed": "gauge-fixed",
    "balanced_init": "balanced at t=0",
    "weight_decay": "weight decay",
}


def arm_color(arm: str) -> str:
    return theme.ROLE_COLORS[ARM_ROLE[arm]]


def _rho_label(rho0) -> str:
    if rho0 is None:
        return "PyTorch default init"
    return f"ρ0 = {rho0:g}" + (" (balanced)" if rho0 == 0 else " (imbalanced)")


def _compact(v):
    """Numbers rounded to 5 significant digits (what a figure can show), anything else unchanged."""
    if isinstance(v, float) and math.isfinite(v) and v != 0:
        return round(v, 4 - int(math.floor(math.log10(abs(v)))))
    return v


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    fig.update_layout(title=title, template=theme.template(), legend=dict(orientation="h", y=-0.18), **kw)
    for trace in fig.data:  # keep the stored figure small: no 17-digit floats in the JSON
        for attr in ("x", "y", "z"):
            v = getattr(trace, attr, None)
            if isinstance(v, (tuple, list)) and v and not isinstance(v[0], str):
                trace[attr] = [
                    [_compact(u) for u in row] if isinstance(row, (tuple, list)) else _compact(row)
                    for row in v
                ]
    return fig


def _finite(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _median(t: torch.Tensor) -> float:
    t = t[torch.isfinite(t)]
    return float(t.median()) if t.numel() else math.nan


# ---------------------------------------------------------------------------------------------
def dataset_figure(
    data: Dataset, target_fn=None, title: str = "Toy regression data (fig. 2)", train_range=None
) -> go.Figure:
    """Training samples (markers) and the noiseless target on the validation grid (line)."""
    fig = go.Figure()
    xt, yt = data.x_train[:, 0].tolist(), data.y_train[:, 0].tolist()
    fig.add_trace(
        go.Scatter(
            x=xt, y=yt, mode="markers", name="training samples (noisy)", marker=dict(color=theme.colors()[0])
        )
    )
    xv = data.x_val[:, 0]
    yv = data.y_val[:, 0] if target_fn is None else target_fn(data.x_val)[:, 0]
    fig.add_trace(
        go.Scatter(
            x=xv.tolist(),
            y=yv.tolist(),
            mode="lines",
            line=dict(color=theme.ROLE_COLORS["reference"]),
            name="target",
        )
    )
    if train_range is not None:
        for x0 in train_range:
            fig.add_vline(x=x0, line=dict(color=theme.ROLE_COLORS["reference"], dash="dot"))
        fig.add_annotation(
            x=train_range[1],
            y=1.05,
            yref="paper",
            text="training range | extrapolation",
            showarrow=False,
            xanchor="center",
        )
    return _layout(fig, title, xaxis_title="x", yaxis_title="y", height=330)


def lambda_sweep_figure(sweep) -> go.Figure:
    """Training loss, interpolation and extrapolation val MSE against λ (fig. 3), mean ± std, fitted seeds."""
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[
            "training loss",
            "val MSE, interpolation (|x| ≤ 2)",
            "val MSE, extrapolation (|x| > 2)",
        ],
    )
    labels = [f"{lam:g}" for lam in sweep.lams]
    n_seeds = len(sweep.seeds)
    for r, rho0 in enumerate(sweep.rho0s):
        n = sweep.n_fitted[r]
        for c, (mean, std) in enumerate(
            (
                (sweep.loss_mean, sweep.loss_std),
                (sweep.interp_mean, sweep.interp_std),
                (sweep.extrap_mean, sweep.extrap_std),
            )
        ):
            keep = [i for i in range(len(labels)) if n[i] > 0]
            fig.add_trace(
                go.Scatter(
                    x=[labels[i] for i in keep],
                    y=[float(mean[r, i]) for i in keep],
                    error_y=dict(type="data", array=[float(std[r, i]) for i in keep]),
                    mode="lines+markers",
                    line=dict(dash=theme.DASHES[r % len(theme.DASHES)], color=theme.colors()[r]),
                    marker=dict(symbol=theme.SYMBOLS[r]),
                    name=_rho_label(rho0),
                    legendgroup=str(r),
                    showlegend=c == 0,
                    text=[f"{int(n[i])}/{n_seeds} seeds fitted" for i in keep],
                    hovertemplate="λ = %{x}<br>%{y:.4g}<br>%{text}<extra></extra>",
                ),
                row=1,
                col=c + 1,
            )
    for c in range(3):
        fig.update_xaxes(title_text="λ (R = (λ/4) Σ δ²)", type="category", row=1, col=c + 1)
        fig.update_yaxes(**theme.log_axis(), row=1, col=c + 1)
    fig.update_yaxes(title_text="mean ± std over fitted seeds", row=1, col=1)
    return _layout(
        fig, f"Fig. 3: λ sweep at η = {sweep.lr:g}, {n_seeds} seeds (fitted seeds only)", height=370
    )


def lr_stress_figure(stress) -> go.Figure:
    """Fraction fitted and stable, fraction not diverged, median final loss against η, every arm (fig. 4)."""
    n_rho = len(stress.rho0s)
    fig = make_subplots(
        rows=3,
        cols=n_rho,
        shared_xaxes=True,
        subplot_titles=[_rho_label(r) for r in stress.rho0s] + [""] * 2 * n_rho,
        vertical_spacing=0.07,
    )
    for r in range(n_rho):
        for a, arm in enumerate(stress.arms):
            color, label = arm_color(arm), stress.labels[a]
            common = dict(
                mode="lines+markers",
                line=dict(color=color, dash=theme.DASHES[a % len(theme.DASHES)]),
                marker=dict(symbol=theme.SYMBOLS[a]),
                name=label,
                legendgroup=arm,
            )
            fig.add_trace(
                go.Scatter(
                    x=stress.lrs, y=stress.fraction["fitted"][r, a].tolist(), showlegend=r == 0, **common
                ),
                row=1,
                col=r + 1,
            )
            fig.add_trace(
                go.Scatter(
                    x=stress.lrs, y=stress.fraction["stable"][r, a].tolist(), showlegend=False, **common
                ),
                row=2,
                col=r + 1,
            )
            med = [_median(stress.final_loss[r, a, k]) for k in range(len(stress.lrs))]
            xs, ys = _finite(stress.lrs, med)
            fig.add_trace(go.Scatter(x=xs, y=ys, showlegend=False, **common), row=3, col=r + 1)
        fig.update_yaxes(range=[-0.05, 1.05], row=1, col=r + 1)
        fig.update_yaxes(range=[-0.05, 1.05], row=2, col=r + 1)
        fig.update_yaxes(**theme.log_axis(), row=3, col=r + 1)
        fig.add_hline(
            y=stress.l_const, line=dict(color=theme.ROLE_COLORS["reference"], dash="dot"), row=3, col=r + 1
        )
        fig.update_xaxes(title_text="learning rate η", row=3, col=r + 1)
    fig.update_yaxes(title_text=f"fraction fitted (τ = {stress.tau:g})", row=1, col=1)
    fig.update_yaxes(title_text="fraction not diverged", row=2, col=1)
    fig.update_yaxes(title_text="median final loss", row=3, col=1)
    return _layout(
        fig,
        f"Fig. 4: learning-rate stress test, {stress.n_seeds} seeds: fitted and stable (top) vs divergence "
        "only (middle)",
        height=540,
    )


def paired_edges_figure(stress) -> go.Figure:
    """Per-seed edges of every arm (one line per seed joins the arms), fitted and divergence-only."""
    n_rho = len(stress.rho0s)
    fig = make_subplots(
        rows=2,
        cols=n_rho,
        subplot_titles=[f"{_rho_label(r)}: fitted and stable" for r in stress.rho0s]
        + [f"{_rho_label(r)}: divergence only" for r in stress.rho0s],
        vertical_spacing=0.18,
    )
    for row, crit in enumerate(("fitted", "stable")):
        for r in range(n_rho):
            e = stress.edges[crit][r]  # (n_arm, n_seed)
            for s in range(e.shape[1]):
                fig.add_trace(
                    go.Scatter(
                        x=[SHORT[a] for a in stress.arms],
                        y=e[:, s].tolist(),
                        mode="lines",
                        line=dict(color=theme.ROLE_COLORS["reference"], width=1),
                        opacity=0.5,
                        showlegend=False,
                        hoverinfo="skip",
                    ),
                    row=row + 1,
                    col=r + 1,
                )
            for a, arm in enumerate(stress.arms):
                text = []
                if arm != "baseline":
                    pr = stress.pairs[crit][(r, arm)]
                    text = [
                        f"− baseline: {pr.mean:+.3g} [{pr.low:+.3g}, {pr.high:+.3g}], "
                        f"{pr.n_above}/{pr.n_equal}/{pr.n_below} wider/equal/narrower"
                    ] * e.shape[1]
                fig.add_trace(
                    go.Scatter(
                        x=[SHORT[arm]] * e.shape[1],
                        y=e[a].tolist(),
                        mode="markers",
                        marker=dict(color=arm_color(arm), size=9, symbol=theme.SYMBOLS[a]),
                        name=stress.labels[a],
                        legendgroup=arm,
                        showlegend=False,
                        text=text or None,
                        hovertemplate="edge η = %{y:g}<br>%{text}<extra></extra>"
                        if text
                        else "edge η = %{y:g}<extra></extra>",
                    ),
                    row=row + 1,
                    col=r + 1,
                )
            fig.update_yaxes(title_text="per-seed edge η", row=row + 1, col=r + 1)
            fig.update_xaxes(tickangle=0, row=row + 1, col=r + 1)
    return _layout(
        fig,
        "Per-seed edges (largest η with every smaller η fitted / not diverged); grey lines join one seed's "
        "arms",
        height=600,
    )


def tau_sensitivity_figure(stress) -> go.Figure:
    """Median per-seed fitted edge of each arm against the threshold τ; paired gauge-fixed − baseline CI."""
    n_rho = len(stress.rho0s)
    fig = make_subplots(
        rows=2,
        cols=n_rho,
        shared_xaxes=True,
        subplot_titles=[_rho_label(r) for r in stress.rho0s] + [""] * n_rho,
        vertical_spacing=0.1,
    )
    taus = stress.taus
    for r in range(n_rho):
        for a, arm in enumerate(stress.arms):
            med = [float(stress.tau_edges[k, r, a].median()) for k in range(len(taus))]
            fig.add_trace(
                go.Scatter(
                    x=taus,
                    y=med,
                    mode="lines+markers",
                    line=dict(color=arm_color(arm), dash=theme.DASHES[a % len(theme.DASHES)]),
                    marker=dict(symbol=theme.SYMBOLS[a]),
                    name=stress.labels[a],
                    legendgroup=arm,
                    showlegend=r == 0,
                ),
                row=1,
                col=r + 1,
            )
        pr = [stress.tau_pairs[k][(r, "gauge_fixed")] for k in range(len(taus))]
        color = arm_color("gauge_fixed")
        fig.add_trace(
            go.Scatter(
                x=taus,
                y=[q.mean for q in pr],
                mode="lines+markers",
                line=dict(color=color),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[q.high - q.mean for q in pr],
                    arrayminus=[q.mean - q.low for q in pr],
                ),
                name="gauge-fixed − baseline (paired mean, 95 % CI)",
                showlegend=r == 0,
            ),
            row=2,
            col=r + 1,
        )
        fig.add_hline(y=0, line=dict(color=theme.ROLE_COLORS["reference"], dash="dot"), row=2, col=r + 1)
        for row in (1, 2):
            fig.add_vline(
                x=stress.tau, line=dict(color=theme.ROLE_COLORS["reference"], dash="dash"), row=row, col=r + 1
            )
            fig.update_xaxes(**theme.log_axis(), row=row, col=r + 1)
        fig.update_xaxes(title_text="fit threshold τ (dashed: the protocol's)", row=2, col=r + 1)
    fig.update_yaxes(title_text="median per-seed edge η", row=1, col=1)
    fig.update_yaxes(title_text="paired edge difference", row=2, col=1)
    return _layout(fig, "Sensitivity of fig. 4's verdict to the fit threshold τ", height=520)


def invariance_figure(inv) -> go.Figure:
    """Boxplot of Δ_inv over the random rescalings, with the paper's min / median / max (fig. 5)."""
    c = theme.colors()
    fig = go.Figure()
    fig.add_trace(
        go.Box(
            y=inv.errors.tolist(),
            name="ours: Δ_inv (absolute)",
            boxpoints="outliers",
            jitter=0.4,
            marker=dict(color=c[0]),
        )
    )
    fig.add_trace(
        go.Box(
            y=inv.relative.tolist(),
            name="ours: Δ_inv / mean|f|",
            boxpoints="outliers",
            jitter=0.4,
            marker=dict(color=c[2]),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=["paper (fig. 5)"] * 3,
            y=list(inv.paper),
            mode="markers+text",
            text=["min", "median", "max"],
            textposition="middle right",
            marker=dict(symbol="diamond", size=10, color=theme.ROLE_COLORS["reference"]),
            name="paper: min / median / max",
        )
    )
    lo, hi = inv.log_alpha
    return _layout(
        fig,
        f"Fig. 5: invariance error over {inv.errors.numel()} random rescalings, log α ~ U[{lo:g}, {hi:g}]",
        xaxis_title="",
        yaxis=theme.log_axis(title="Δ_inv = mean_n |f_αθ(x_n) − f_θ(x_n)|"),
        height=380,
    )


def scale_drift_figure(drift, measures=("remaining", "drift")) -> go.Figure:
    """Remaining imbalance mean_j |δ_j(t)| and drift mean_j |δ_j(t) − δ_j(0)| over training, every arm
    (mean over stable seeds), per start; η by line style. ``measures``: which rows to draw."""
    n_rho = len(drift.rho0s)
    label = {"remaining": "remaining mean_j |δ_j(t)|", "drift": "drift mean_j |δ_j(t) − δ_j(0)|"}
    titles = [
        f"{_rho_label(r)}: {label[m]}" if i == 0 else label[m]
        for i, m in enumerate(measures)
        for r in drift.rho0s
    ]
    fig = make_subplots(rows=len(measures), cols=n_rho, subplot_titles=titles, vertical_spacing=0.14)
    steps = drift.steps.tolist()
    floor = 1e-12
    for r in range(n_rho):
        for a, arm in enumerate(drift.arms):
            for k, lr in enumerate(drift.lrs):
                n = int(drift.n_stable[r, a, k])
                if n == 0:
                    continue
                name = f"{drift.labels[a]}, η = {lr:g}"
                for row, curves in enumerate((getattr(drift, m) for m in measures), start=1):
                    xs, ys = _finite(steps, curves[r, a, k].tolist())
                    fig.add_trace(
                        go.Scatter(
                            x=xs,
                            y=[max(v, floor) for v in ys],
                            mode="lines",
                            line=dict(color=arm_color(arm), dash=theme.DASHES[k % len(theme.DASHES)]),
                            name=name,
                            legendgroup=name,
                            showlegend=r == 0 and row == 1,
                            hovertemplate=f"{name} ({n} seeds)<br>step %{{x}}<br>%{{y:.3g}}<extra></extra>",
                        ),
                        row=row,
                        col=r + 1,
                    )
        for row, m in enumerate(measures, start=1):
            fig.update_xaxes(title_text="GD step", row=row, col=r + 1)
            fig.update_yaxes(**theme.log_axis(), row=row, col=r + 1)
            if r == 0:
                fig.update_yaxes(
                    title_text={"remaining": "remaining imbalance", "drift": "drift from start"}[m],
                    row=row,
                    col=1,
                )
    return _layout(
        fig,
        "Scale drift: the imbalance left, and how far it moved from the start",
        height=200 + 250 * len(measures),
    )


def mechanism_figure(mech) -> go.Figure:
    """λ_max(θ_t) over the first steps and at the end, both arms, against 2/η; and edges against 2/λ_max."""
    n_rho = len(mech.rho0s)
    fig = make_subplots(
        rows=2,
        cols=n_rho,
        subplot_titles=[f"{_rho_label(r)}: λ_max(t), first steps and end" for r in mech.rho0s]
        + [f"{_rho_label(r)}: per-seed edge vs 2/λ_max" for r in mech.rho0s],
        vertical_spacing=0.2,
    )
    steps = mech.steps.tolist()
    t_end = steps[-1] * 1.25 + 1
    for r in range(n_rho):
        for k, lr in enumerate(mech.lrs):
            fig.add_trace(
                go.Scatter(
                    x=[0, t_end],
                    y=[2 / lr] * 2,
                    mode="lines",
                    line=dict(
                        color=theme.ROLE_COLORS["reference"],
                        dash=theme.DASHES[k % len(theme.DASHES)],
                        width=1,
                    ),
                    name=f"2/η, η = {lr:g}",
                    legendgroup=f"eta{k}",
                    showlegend=r == 0,
                ),
                row=1,
                col=r + 1,
            )
            for a, arm in enumerate(mech.arms):
                for i, seed in enumerate(mech.seeds):
                    xs, ys = _finite(steps, mech.sharpness[r, a, k, i].tolist())
                    end = float(mech.sharpness_end[r, a, k, i])
                    name = f"{'baseline' if arm == 'baseline' else 'gauge-fixed'}, η = {lr:g}"
                    fig.add_trace(
                        go.Scatter(
                            x=xs + ([t_end] if math.isfinite(end) else []),
                            y=ys + ([end] if math.isfinite(end) else []),
                            mode="lines+markers",
                            marker=dict(size=3, symbol=theme.SYMBOLS[k]),
                            line=dict(
                                color=arm_color(arm), dash=theme.DASHES[k % len(theme.DASHES)], width=1.5
                            ),
                            name=name,
                            legendgroup=name,
                            showlegend=r == 0 and i == 0,
                            hovertemplate=f"{name}, seed {seed}<br>step %{{x}}<br>λ_max %{{y:.3g}}"
                            "<extra></extra>",
                        ),
                        row=1,
                        col=r + 1,
                    )
        fig.update_yaxes(
            **theme.log_axis(title="λ_max of the arm's objective" if r == 0 else None), row=1, col=r + 1
        )
        fig.update_xaxes(title_text="GD step (rightmost point: end of training)", row=1, col=r + 1)
        for a, arm in enumerate(mech.all_arms):
            pairs = (
                (
                    "fitted edge vs 2/λ_max at the end of the smallest-η run",
                    mech.edge_fitted,
                    mech.sharpness_ref_end,
                    "circle",
                ),
                (
                    "divergence edge vs 2/λ_max at initialisation",
                    mech.edge_stable,
                    mech.sharpness_init,
                    "diamond-open",
                ),
            )
            for what, edges, lam, sym in pairs:
                xs, ys = _finite((2 / lam[r, a]).tolist(), edges[r, a].tolist())
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=ys,
                        mode="markers",
                        marker=dict(color=arm_color(arm), symbol=sym, size=8),
                        name=arm.replace("_", " "),
                        legendgroup=f"edges-{arm}",
                        showlegend=r == 0 and sym == "circle",
                        hovertemplate=f"{arm.replace('_', ' ')}: {what}<br>2/λ_max %{{x:.3g}}, edge %{{y:g}}"
                        "<extra></extra>",
                    ),
                    row=2,
                    col=r + 1,
                )
        fig.add_trace(
            go.Scatter(
                x=[0.05, 3],
                y=[0.05, 3],
                mode="lines",
                line=dict(color=theme.ROLE_COLORS["reference"], dash="dot"),
                name="edge = 2/λ_max",
                showlegend=r == 0,
            ),
            row=2,
            col=r + 1,
        )
        fig.update_xaxes(title_text="2/λ_max", row=2, col=r + 1)
        fig.update_yaxes(title_text="per-seed edge η", row=2, col=r + 1)
    return _layout(
        fig,
        "The mechanism: λ_max against 2/η (top); per-seed edges against 2/λ_max (bottom: ● fitted edge vs<br>"
        "the point reached at the smallest η, ◇ divergence edge vs the start; dotted: edge = 2/λ_max)",
        height=600,
        margin=dict(t=90),
    )


def stability_map_figure(smap) -> go.Figure:
    """Fraction of seeds fitted and stable over (η, λ), per ρ0, with the upper limit on λ (THEORY §4).

    λ = 0 is drawn on its own row below the log-scaled λ axis. Lines: λ = 1/(η S) (the penalty's
    imbalance mode passes −1 per step: divergence) and 1/(2ηS) (it starts to oscillate), with S =
    median_seeds max_j(‖u_j‖² + ‖a_j‖²) at initialisation (solid) and after baseline training (dotted).
    """
    n_rho = len(smap.rho0s)
    fig = make_subplots(rows=1, cols=n_rho, subplot_titles=[_rho_label(r) for r in smap.rho0s])
    pos = [lam for lam in smap.lams if lam > 0]
    zero_y = min(pos) / 4 if pos else 1e-2
    ys = [lam if lam > 0 else zero_y for lam in smap.lams]
    frac, frac_s = smap.fraction_fitted(), smap.fraction_stable()
    lrs = smap.lrs
    lim0, lim1 = smap.lam_limit(which="init"), smap.lam_limit(which="trained")
    n = len(smap.seeds)
    for r in range(n_rho):
        xs, yy, cs, txt = [], [], [], []
        for i, y in enumerate(ys):
            for k, lr in enumerate(lrs):
                xs.append(lr)
                yy.append(y)
                cs.append(float(frac[r, i, k]))
                txt.append(
                    f"η = {lr:g}, λ = {smap.lams[i]:g}: {round(cs[-1] * n)}/{n} fitted, "
                    f"{round(float(frac_s[r, i, k]) * n)}/{n} not diverged"
                )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=yy,
                mode="markers",
                marker=dict(
                    symbol="square",
                    size=16,
                    color=cs,
                    cmin=0,
                    cmax=1,
                    colorscale=theme.SEQUENTIAL,
                    showscale=r == 0,
                    colorbar=dict(title="fitted"),
                ),
                text=txt,
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=r + 1,
        )
        for lim, dash, what in ((lim0, "solid", "init"), (lim1, "dot", "trained")):
            row = lim[r]
            if not torch.isfinite(row).all():
                continue
            for factor, label, color in (
                (1.0, "1/(ηS)", theme.colors()[7]),
                (0.5, "1/(2ηS)", theme.ROLE_COLORS["reference"]),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=lrs,
                        y=(factor * row).tolist(),
                        mode="lines",
                        line=dict(color=color, dash=dash),
                        name=f"λ = {label}, S at {what}",
                        legendgroup=f"{label}{what}",
                        showlegend=r == 0,
                    ),
                    row=1,
                    col=r + 1,
                )
        fig.update_xaxes(**theme.log_axis(title="learning rate η"), row=1, col=r + 1)
        fig.update_yaxes(
            type="log",
            range=[math.log10(zero_y / 2), math.log10(max(ys) * 3)],
            tickvals=ys,
            ticktext=[f"{lam:g}" for lam in smap.lams],
            row=1,
            col=r + 1,
        )
    fig.update_yaxes(title_text="λ (bottom row: λ = 0, the baseline)", row=1, col=1)
    return _layout(fig, f"Stability map: fraction of {n} seeds fitted and stable", height=520)


def regime_map_figure(reg) -> go.Figure:
    """One cell per (factor, value): wider / same / narrower (fitted criterion), with the paired interval."""
    factors = reg.factors
    cols = max(sum(1 for c in reg.cells if c.factor == f) for f in factors)
    z, text, hover = [], [], []
    for f in factors:
        row_z, row_t, row_h = [], [], []
        cells = [c for c in reg.cells if c.factor == f]
        for c in cells:
            pf, ps = c.pairs["fitted"], c.pairs["stable"]
            row_z.append(pf.mean if math.isfinite(pf.mean) else None)
            row_t.append(
                f"<b>{c.label}</b><br>{c.verdict['fitted']}<br>{pf.mean:+.2g} [{pf.low:+.2g}, {pf.high:+.2g}]"
            )
            row_h.append(
                f"{c.label}: fitted {c.verdict['fitted']} {pf.mean:+.3g} [{pf.low:+.3g}, {pf.high:+.3g}] "
                f"({pf.n_above}/{pf.n_equal}/{pf.n_below}); divergence only {c.verdict['stable']} "
                f"{ps.mean:+.3g} [{ps.low:+.3g}, {ps.high:+.3g}]; {len(c.seeds)} seeds"
            )
        pad = cols - len(cells)
        z.append(row_z + [None] * pad)
        text.append(row_t + [""] * pad)
        hover.append(row_h + [""] * pad)
    vals = [v for row in z for v in row if v is not None]
    m = max([abs(v) for v in vals] + [1e-3])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"value {i + 1}" for i in range(cols)],
            y=factors,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=11),
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=theme.SEQUENTIAL,
            zmin=-m,
            zmax=m,
            colorbar=dict(title="paired mean<br>edge difference"),
        )
    )
    fig.update_xaxes(
        title_text="setting (one factor changed at a time from the protocol)", showticklabels=False
    )
    fig.update_yaxes(title_text="factor", autorange="reversed")
    return _layout(
        fig,
        f"Regime map: does λ gauge fixing widen the fitted edge? (gauge-fixed − baseline, τ = {reg.tau:g}, "
        "95 % CI)",
        height=110 + 100 * len(factors),
    )
