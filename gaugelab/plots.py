"""Pure plotting functions: experiment results in, ``plotly.graph_objects.Figure`` out (no widgets).

One function per figure of the reproduction (:mod:`gaugelab.experiments`). Diverged runs are never
drawn as NaN: statistics are over stable seeds, points with no stable seed are left out, and the
number of stable seeds is shown in the hover text.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gaugelab import theme
from gaugelab.data import Dataset

ARM_COLORS = (theme.ROLE_COLORS["baseline"], theme.ROLE_COLORS["gauge_fixed"])
RHO_DASH = ("solid", "dash")


def _rho_label(rho0: float) -> str:
    return f"ρ0 = {rho0:g}" + (" (balanced)" if rho0 == 0 else " (imbalanced)")


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    fig.update_layout(title=title, template=theme.template(), legend=dict(orientation="h", y=-0.2), **kw)
    return fig


def dataset_figure(data: Dataset, target_fn=None, title: str = "Toy regression data (fig. 2)") -> go.Figure:
    """Training samples (markers) and the noiseless target on the validation grid (black line)."""
    fig = go.Figure()
    xt, yt = data.x_train[:, 0].tolist(), data.y_train[:, 0].tolist()
    fig.add_trace(go.Scatter(x=xt, y=yt, mode="markers", name="training samples (noisy)"))
    xv = data.x_val[:, 0]
    yv = data.y_val[:, 0] if target_fn is None else target_fn(data.x_val)[:, 0]
    fig.add_trace(
        go.Scatter(x=xv.tolist(), y=yv.tolist(), mode="lines", line=dict(color="black"), name="target")
    )
    return _layout(fig, title, xaxis_title="x", yaxis_title="y")


def lambda_sweep_figure(sweep) -> go.Figure:
    """Final validation MSE against λ, mean ± std over stable seeds, one line per ρ0 (fig. 3)."""
    fig = go.Figure()
    labels = [f"{lam:g}" for lam in sweep.lams]
    for r, rho0 in enumerate(sweep.rho0s):
        n = sweep.n_stable[r]
        keep = [i for i in range(len(labels)) if n[i] > 0]
        fig.add_trace(
            go.Scatter(
                x=[labels[i] for i in keep],
                y=[float(sweep.val_mean[r, i]) for i in keep],
                error_y=dict(type="data", array=[float(sweep.val_std[r, i]) for i in keep]),
                mode="lines+markers",
                line=dict(dash=RHO_DASH[r % 2]),
                name=_rho_label(rho0),
                text=[f"{int(n[i])}/{len(sweep.seeds)} seeds stable" for i in keep],
                hovertemplate="λ = %{x}<br>val MSE %{y:.4g}<br>%{text}<extra></extra>",
            )
        )
        gone = [i for i in range(len(labels)) if n[i] < len(sweep.seeds)]
        if gone:
            fig.add_trace(
                go.Scatter(
                    x=[labels[i] for i in gone],
                    y=[0.0] * len(gone),
                    mode="markers",
                    marker=dict(symbol="x", size=10),
                    name=f"{_rho_label(rho0)}: some seeds diverged",
                    text=[f"{len(sweep.seeds) - int(n[i])} diverged" for i in gone],
                    hovertemplate="λ = %{x}: %{text}<extra></extra>",
                )
            )
    return _layout(
        fig,
        f"Validation MSE vs λ at η = {sweep.lr:g} (mean ± std over {len(sweep.seeds)} seeds; fig. 3)",
        xaxis=dict(title="λ (our normalisation R = (λ/4) Σ δ²)", type="category"),
        yaxis_title="final validation MSE",
    )


def lr_stress_figure(stress) -> go.Figure:
    """Fraction of seeds stable (top) and final validation MSE (bottom) against η, both arms (fig. 4)."""
    n_rho = len(stress.rho0s)
    fig = make_subplots(
        rows=2,
        cols=n_rho,
        shared_xaxes=True,
        subplot_titles=[_rho_label(r) for r in stress.rho0s] + [""] * n_rho,
        vertical_spacing=0.08,
    )
    for r in range(n_rho):
        for a, arm in enumerate(stress.arms):
            color = ARM_COLORS[a]
            fig.add_trace(
                go.Scatter(
                    x=stress.lrs,
                    y=stress.fraction_stable[r, a].tolist(),
                    mode="lines+markers",
                    line=dict(color=color),
                    name=arm,
                    legendgroup=arm,
                    showlegend=r == 0,
                ),
                row=1,
                col=r + 1,
            )
            n = stress.n_stable[r, a]
            keep = [i for i in range(len(stress.lrs)) if n[i] > 0]
            fig.add_trace(
                go.Scatter(
                    x=[stress.lrs[i] for i in keep],
                    y=[float(stress.val_mean[r, a, i]) for i in keep],
                    error_y=dict(type="data", array=[float(stress.val_std[r, a, i]) for i in keep]),
                    mode="lines+markers",
                    line=dict(color=color),
                    name=arm,
                    legendgroup=arm,
                    showlegend=False,
                    text=[f"{int(n[i])}/{stress.n_seeds} stable" for i in keep],
                    hovertemplate="η = %{x}<br>val MSE %{y:.4g}<br>%{text}<extra></extra>",
                ),
                row=2,
                col=r + 1,
            )
            edge = float(stress.stable_lr[r, a])
            if edge > 0:
                fig.add_vline(x=edge, line=dict(color=color, dash="dot"), row=1, col=r + 1)
        fig.update_xaxes(title_text="learning rate η", row=2, col=r + 1)
        fig.update_yaxes(range=[-0.05, 1.05], row=1, col=r + 1)
    fig.update_yaxes(title_text="fraction of seeds stable", row=1, col=1)
    fig.update_yaxes(title_text="final val MSE (stable seeds)", type="log", row=2, col=1)
    for r in range(1, n_rho):
        fig.update_yaxes(type="log", row=2, col=r + 1)
    return _layout(
        fig,
        f"Learning-rate stress test, {stress.n_seeds} seeds (dotted: end of each arm's stable range; fig. 4)",
        height=650,
    )


def invariance_figure(inv) -> go.Figure:
    """Boxplot of Δ_inv over the random rescalings, with the paper's min / median / max (fig. 5)."""
    fig = go.Figure()
    fig.add_trace(go.Box(y=inv.errors.tolist(), name="ours: Δ_inv (absolute)", boxpoints="all", jitter=0.4))
    fig.add_trace(go.Box(y=inv.relative.tolist(), name="ours: Δ_inv / mean|f|", boxpoints="all", jitter=0.4))
    fig.add_trace(
        go.Scatter(
            x=["paper (fig. 5)"] * 3,
            y=list(inv.paper),
            mode="markers+text",
            text=["min", "median", "max"],
            textposition="middle right",
            marker=dict(symbol="diamond", size=10, color="black"),
            name="paper: min / median / max",
        )
    )
    lo, hi = inv.log_alpha
    return _layout(
        fig,
        f"Invariance error over {inv.errors.numel()} random rescalings, log α ~ U[{lo:g}, {hi:g}] (fig. 5)",
        yaxis=dict(title="Δ_inv = mean_n |f_αθ(x_n) − f_θ(x_n)|", type="log", exponentformat="e"),
    )


def scale_drift_figure(drift) -> go.Figure:
    """The drift metric over training (mean ± std over stable seeds), both arms, each ρ0 and η."""
    n_rho = len(drift.rho0s)
    fig = make_subplots(
        rows=1, cols=n_rho, subplot_titles=[_rho_label(r) for r in drift.rho0s], shared_yaxes=True
    )
    steps = drift.steps.tolist()
    dashes = ("solid", "dash", "dot", "dashdot")
    floor = 1e-12
    for r in range(n_rho):
        for a, arm in enumerate(drift.arms):
            for k, lr in enumerate(drift.lrs):
                n = int(drift.n_stable[r, a, k])
                if n == 0:
                    continue
                mean = drift.mean[r, a, k]
                ok = torch.isfinite(mean)
                name = f"{arm}, η = {lr:g}"
                fig.add_trace(
                    go.Scatter(
                        x=[s for s, o in zip(steps, ok.tolist()) if o],
                        y=mean[ok].clamp(min=floor).tolist(),
                        mode="lines",
                        line=dict(color=ARM_COLORS[a], dash=dashes[k % 4]),
                        name=name,
                        legendgroup=name,
                        showlegend=r == 0,
                        hovertemplate=f"{name} ({n} seeds)<br>step %{{x}}<br>%{{y:.3g}}<extra></extra>",
                    ),
                    row=1,
                    col=r + 1,
                )
        fig.update_xaxes(title_text="GD step", row=1, col=r + 1)
    label = "mean_j |δ_j(t)|" if drift.metric == "mean_abs_delta" else "mean_j |δ_j(t) − δ_j(0)|"
    fig.update_yaxes(title_text=f"{label} (mean over stable seeds)", type="log", row=1, col=1)
    return _layout(fig, "Scale drift over training: baseline vs gauge-fixed", height=480)


def stability_map_figure(smap) -> go.Figure:
    """Fraction of seeds stable over (η, λ), per ρ0, with the upper limit on λ (THEORY §4).

    λ = 0 is drawn on its own row below the log-scaled λ axis. Lines: λ = 1/(η S) (the penalty's
    imbalance mode passes −1 per step: divergence) and 1/(2ηS) (it starts to oscillate), with S =
    median_seeds max_j(‖u_j‖² + ‖a_j‖²) at initialisation (solid) and after baseline training (dotted).
    """
    n_rho = len(smap.rho0s)
    fig = make_subplots(rows=1, cols=n_rho, subplot_titles=[_rho_label(r) for r in smap.rho0s])
    pos = [lam for lam in smap.lams if lam > 0]
    zero_y = min(pos) / 4 if pos else 1e-2
    ys = [lam if lam > 0 else zero_y for lam in smap.lams]
    frac = smap.fraction_stable()
    lrs = smap.lrs
    lim0, lim1 = smap.lam_limit(which="init"), smap.lam_limit(which="trained")
    for r in range(n_rho):
        xs, yy, cs, txt = [], [], [], []
        for i, y in enumerate(ys):
            for k, lr in enumerate(lrs):
                xs.append(lr)
                yy.append(y)
                cs.append(float(frac[r, i, k]))
                txt.append(
                    f"η = {lr:g}, λ = {smap.lams[i]:g}: {int(round(cs[-1] * len(smap.seeds)))}/"
                    f"{len(smap.seeds)} stable"
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
                    colorbar=dict(title="stable"),
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
            for factor, label in ((1.0, "1/(ηS)"), (0.5, "1/(2ηS)")):
                fig.add_trace(
                    go.Scatter(
                        x=lrs,
                        y=(factor * row).tolist(),
                        mode="lines",
                        line=dict(color="black" if factor == 1 else "gray", dash=dash),
                        name=f"λ = {label}, S at {what}",
                        legendgroup=f"{label}{what}",
                        showlegend=r == 0,
                    ),
                    row=1,
                    col=r + 1,
                )
        fig.update_xaxes(title_text="learning rate η", type="log", row=1, col=r + 1)
        fig.update_yaxes(
            type="log",
            range=[
                torch.log10(torch.tensor(zero_y / 2)).item(),
                torch.log10(torch.tensor(max(ys) * 3)).item(),
            ],
            tickvals=ys,
            ticktext=[f"{lam:g}" for lam in smap.lams],
            row=1,
            col=r + 1,
        )
    fig.update_yaxes(title_text="λ (bottom row: λ = 0, the baseline)", row=1, col=1)
    return _layout(fig, f"Stability map: fraction of {len(smap.seeds)} seeds that never diverge", height=520)
