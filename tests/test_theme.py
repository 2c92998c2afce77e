"""The shared plotly theme: registered templates, theme choice, axis helpers."""

from __future__ import annotations

import json

import plotly.io as pio
import pytest

from gaugelab import theme


def test_both_templates_are_registered_with_the_okabe_ito_colorway():
    for name, colors in (("gaugelab", theme.OKABE_ITO), ("gaugelab_dark", theme.OKABE_ITO_DARK)):
        t = pio.templates[name]
        assert list(t.layout.colorway) == list(colors)
        assert t.layout.xaxis.exponentformat == "power"


def test_env_variable_chooses_the_theme(monkeypatch):
    monkeypatch.setenv("GAUGELAB_THEME", "dark")
    assert theme.template() == "gaugelab_dark"
    monkeypatch.setenv("GAUGELAB_THEME", "light")
    assert theme.template() == "gaugelab"
    monkeypatch.setenv("GAUGELAB_THEME", "sepia")
    with pytest.raises(ValueError, match="GAUGELAB_THEME"):
        theme.template()


def test_jupyterlab_dark_setting_is_detected(monkeypatch, tmp_path):
    monkeypatch.delenv("GAUGELAB_THEME", raising=False)
    d = tmp_path / "@jupyterlab" / "apputils-extension"
    d.mkdir(parents=True)
    f = d / "themes.jupyterlab-settings"
    f.write_text(
        "{\n  // a comment, as JupyterLab writes them\n" + json.dumps({"theme": "JupyterLab Dark"})[1:]
    )
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path))
    assert theme.theme() == "dark"
    f.write_text(json.dumps({"theme": "JupyterLab Light"}))
    assert theme.theme() == "light"


def test_log_axis_labels_decades_only():
    ax = theme.log_axis(title="error")
    assert ax["type"] == "log" and ax["dtick"] == 1 and ax["exponentformat"] == "power"
    assert ax["title"] == "error"


def test_template_rejects_unknown_names():
    with pytest.raises(ValueError, match="which"):
        theme.template("sepia")
