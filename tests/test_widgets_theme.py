"""The widgets' figures follow the GaugeLab theme (issue 13 §4): the colour-blind-safe palette and
the light or dark template, chosen when the figure is made (GAUGELAB_THEME here)."""

import plotly.io as pio
import pytest

import gaugelab as gl
from gaugelab import theme
from gaugelab.widgets.orbit import OrbitExplorer
from gaugelab.widgets.relaxation import RelaxationPlayer, demo_model


def _bg(fig) -> str:
    return fig.layout.template.layout.paper_bgcolor


@pytest.mark.parametrize("which", ["light", "dark"])
def test_relaxation_player_uses_the_theme_palette_template_and_line_styles(monkeypatch, which):
    monkeypatch.setenv("GAUGELAB_THEME", which)
    player = RelaxationPlayer(demo_model(width=8, seed=0), lam=0.5, lr=0.03)
    fig = player.fig
    assert _bg(fig) == pio.templates[theme.template(which)].layout.paper_bgcolor
    neurons = [t for t in fig.data if (t.name or "").startswith("neuron ")]
    assert len(neurons) == 8
    assert [t.line.color for t in neurons] == list(theme.colors(which))
    # more than four series: the line style tells the second four apart from the first four
    assert {t.line.dash for t in neurons[:4]} != {t.line.dash for t in neurons[4:]}
    ink = theme.ROLE_COLORS["target"]
    assert all(t.line.color == ink for t in fig.data if (t.name or "").startswith("closed form"))


def test_dark_and_light_templates_differ_for_the_orbit_explorer(monkeypatch):
    data = gl.toy_regression(n_train=16, seed=0)
    model = gl.two_layer(1, 4, 1, seed=0)
    bgs = {}
    for which in ("light", "dark"):
        monkeypatch.setenv("GAUGELAB_THEME", which)
        app = OrbitExplorer(model, data.x_train, data.y_train)
        bgs[which] = _bg(app.fig)
        assert bgs[which] == pio.templates[theme.template(which)].layout.paper_bgcolor
    assert bgs["light"] != bgs["dark"]


def test_landscape_follows_the_theme(monkeypatch):
    from gaugelab.widgets.landscape import LandscapeWidget

    monkeypatch.setenv("GAUGELAB_THEME", "dark")
    toy = LandscapeWidget()
    assert _bg(toy.fig) == pio.templates["gaugelab_dark"].layout.paper_bgcolor
    ink = theme.ROLE_COLORS["target"]
    lines = {t.name: t for t in toy.fig.data}
    assert lines["minima a·w = y"].line.color == ink != "#000000"
    assert lines["orbit a·w = a₀w₀"].line.color == ink
