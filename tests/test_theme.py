"""The shared plotly theme: registered templates, theme choice, axis helpers, colour-vision safety
of the palette and contrast of the verdict colours."""

from __future__ import annotations

import functools
import itertools
import json
import re
import sys
from pathlib import Path

import plotly.io as pio
import pytest
from coloraide import Color

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
    monkeypatch.setattr(theme, "_browser_theme", None)
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


def test_role_colours_follow_the_theme(monkeypatch):
    monkeypatch.setenv("GAUGELAB_THEME", "light")
    light = dict(theme.ROLE_COLORS)
    monkeypatch.setenv("GAUGELAB_THEME", "dark")
    dark = dict(theme.ROLE_COLORS)
    assert set(light) == set(dark) >= {"baseline", "gauge_fixed", "balanced_init", "weight_decay", "target"}
    assert light["target"] == "#000000" and dark["target"] != light["target"]
    assert light["baseline"] in theme.OKABE_ITO and dark["baseline"] in theme.OKABE_ITO_DARK
    for colours, bg in ((light, "#ffffff"), (dark, "#111111")):  # lines readable on the background
        assert all(Color(c).contrast(bg, method="wcag21") >= 3 for c in colours.values()), colours


def test_log_axis_labels_decades_only():
    ax = theme.log_axis(title="error")
    assert ax["type"] == "log" and ax["dtick"] == 1 and ax["exponentformat"] == "power"
    assert ax["title"] == "error"


def test_template_rejects_unknown_names():
    with pytest.raises(ValueError, match="which"):
        theme.template("sepia")


# ------------------------------------------------------------------------------------------------
# Where the theme comes from
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def no_settings(monkeypatch, tmp_path):
    """No GAUGELAB_THEME, no browser report, empty user-settings and app-settings folders."""
    monkeypatch.delenv("GAUGELAB_THEME", raising=False)
    monkeypatch.setattr(theme, "_browser_theme", None)
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "user"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    return tmp_path


def _write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_overrides_json_is_the_default_and_the_user_setting_wins(no_settings):
    overrides = no_settings / "prefix" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    user = no_settings / "user" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    assert theme.theme() == "light"
    _write(overrides, {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark High Contrast"}})
    assert theme.theme() == "dark"
    _write(user, {"theme": "JupyterLab Light"})
    assert theme.theme() == "light"
    _write(user, {"theme": "JupyterLab Dark", "adaptive-theme": True})  # follows the OS: unknown here
    assert theme.theme() == "light"


def test_follow_jupyterlab_restyles_figure_widgets_when_the_browser_reports(no_settings, monkeypatch):
    import plotly.graph_objects as go

    fig = go.FigureWidget(go.Scatter(y=[1, 2]), layout=dict(template=theme.template()))
    probe = theme.follow_jupyterlab(fig)
    assert theme.template() == "gaugelab"
    probe.light = False  # what the front end sets when JupyterLab's body says data-jp-theme-light="false"
    assert theme.template() == "gaugelab_dark"
    assert list(fig.layout.template.layout.colorway) == list(theme.OKABE_ITO_DARK)
    probe.light = True
    assert list(fig.layout.template.layout.colorway) == list(theme.OKABE_ITO)
    monkeypatch.setenv("GAUGELAB_THEME", "dark")  # the explicit choice still wins
    assert theme.template() == "gaugelab_dark"
    assert "data-jp-theme-light" in probe._esm


# ------------------------------------------------------------------------------------------------
# Colour-vision deficiencies. Simulation: Machado, Oliveira & Fernandes (2009), "A physiologically-
# based model for simulation of color vision deficiency", IEEE TVCG 15(6), severity 1.0, for
# deuteranopia and protanopia; Brettel, Viénot & Mollon (1997), JOSA A 14(10), for tritanopia (as
# implemented by coloraide). Colour difference: CIEDE2000 (Sharma, Wu & Dalal 2005). Our threshold:
# ΔE00 >= 10 between any two of the first four colours (ΔE00 of about 2 is just noticeable; lines
# must be told apart at a glance, not just noticed).
# ------------------------------------------------------------------------------------------------
MIN_DELTA_E = 10.0
VISIONS = {"normal": None, "deuteranopia": "deutan", "protanopia": "protan", "tritanopia": "tritan"}


def simulate(hex_color: str, deficiency: str | None) -> Color:
    c = Color(hex_color)
    if deficiency is None:
        return c
    method = "brettel" if deficiency == "tritan" else "machado"
    return c.filter(deficiency, method=method).convert("srgb").fit()


def min_delta_e(colors, deficiency) -> float:
    sims = [simulate(c, deficiency) for c in colors]
    return min(a.delta_e(b, method="2000") for a, b in itertools.combinations(sims, 2))


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("palette", ["OKABE_ITO", "OKABE_ITO_DARK", "roles light", "roles dark"])
def test_first_four_colours_stay_apart_under_colour_vision_deficiency(palette, vision, report, monkeypatch):
    if palette.startswith("roles"):
        monkeypatch.setenv("GAUGELAB_THEME", palette.split()[1])
        colors = [theme.ROLE_COLORS[r] for r in ("baseline", "gauge_fixed", "balanced_init", "weight_decay")]
    else:
        colors = getattr(theme, palette)[:4]
    de = min_delta_e(colors, VISIONS[vision])
    report(f"theme {palette}[:4] under {vision}: min CIEDE2000 = {de:.1f}")
    assert de >= MIN_DELTA_E, (palette, vision, de)


def test_the_colour_vision_check_rejects_a_red_green_pair():
    """Negative control: red and green of the same lightness merge under deuteranopia."""
    pair = ("#d62728", "#2ca02c")  # matplotlib's tab10 red and green
    assert min_delta_e(pair, None) >= MIN_DELTA_E
    assert min_delta_e(pair, "deutan") < MIN_DELTA_E


@pytest.mark.parametrize("vision", VISIONS)
def test_sequential_map_lightness_is_monotonic_under_colour_vision_deficiency(vision):
    import plotly.colors as pc

    scale = pc.get_colorscale(theme.SEQUENTIAL)
    colors = pc.sample_colorscale(scale, [i / 20 for i in range(21)], colortype="rgb")
    lightness = [
        simulate(Color(c).to_string(hex=True), VISIONS[vision]).convert("lab-d65")["lightness"]
        for c in colors
    ]
    assert all(b > a for a, b in zip(lightness, lightness[1:])), lightness


# ------------------------------------------------------------------------------------------------
# Verdict colours: at least 4.5:1 (WCAG 2.1 AA, normal text) in JupyterLab's own themes
# ------------------------------------------------------------------------------------------------
THEMES_DIR = Path(sys.prefix) / "share" / "jupyter" / "lab" / "themes" / "@jupyterlab"
LAB_THEMES = ["theme-light-extension", "theme-dark-extension", "theme-dark-high-contrast-extension"]
BACKGROUNDS = ("--jp-layout-color0", "--jp-layout-color1")  # notebook and panel backgrounds


@functools.cache
def material_colours() -> dict[str, str]:
    """JupyterLab's --md-* colour variables (defined in its core bundle, used by every theme)."""
    (core,) = (Path(sys.prefix) / "share" / "jupyter" / "lab" / "static").glob("jlab_core.*.js")
    found = dict(re.findall(r"(--md-[a-z-]+-(?:\d+|A\d+))\s*:\s*(#[0-9a-fA-F]{3,8})", core.read_text()))
    assert found.get("--md-red-500", "").lower() == "#f44336", "JupyterLab's material colours not found"
    return found


def css_variables(theme_dir: str) -> dict[str, str]:
    text = (THEMES_DIR / theme_dir / "index.css").read_text()
    return {**material_colours(), **dict(re.findall(r"(--[\w-]+)\s*:\s*([^;}]+)", text))}


def resolve(expr: str, variables: dict[str, str]) -> str:
    """var(--x, fallback) replaced by the theme's value of --x (or the fallback), recursively."""
    pattern = re.compile(r"var\((--[\w-]+)\s*(?:,\s*([^()]*(?:\([^()]*\))?[^()]*))?\)")
    for _ in range(10):
        new = pattern.sub(lambda m: variables.get(m.group(1), m.group(2) or "").strip(), expr)
        if new == expr:
            return expr
        expr = new
    raise AssertionError(f"unresolved: {expr}")


def css_color(expr: str, variables: dict[str, str], background: Color | None = None) -> Color:
    """The colour of a CSS expression (hex, rgb(a), named, color-mix in srgb), alpha composited."""
    expr = resolve(expr, variables).strip()
    m = re.fullmatch(r"color-mix\(in srgb,\s*(.+?)\s+(\d+)%,\s*(.+)\)", expr)
    if m:
        a, share, b = css_color(m.group(1), variables), int(m.group(2)), css_color(m.group(3), variables)
        c = a.mix(b, 1 - share / 100, space="srgb")
    else:
        c = Color(expr).convert("srgb")
    if background is not None and c.alpha() < 1:
        c = Color.layer([c, background], space="srgb")
    return c


@pytest.mark.parametrize("lab_theme", LAB_THEMES)
@pytest.mark.parametrize("verdict", sorted(theme.VERDICT_CSS))
def test_verdict_colours_reach_4_5_to_1_in_jupyterlab_themes(lab_theme, verdict, report):
    variables = css_variables(lab_theme)
    for bg_var in BACKGROUNDS:
        bg = css_color(f"var({bg_var})", variables)
        fg = css_color(theme.VERDICT_CSS[verdict], variables, background=bg)
        ratio = fg.contrast(bg, method="wcag21")
        if bg_var == BACKGROUNDS[0]:
            report(f"theme verdict {verdict!r} in {lab_theme}: {fg.to_string(hex=True)} on "
                   f"{bg.to_string(hex=True)}, contrast {ratio:.2f}")  # fmt: skip
        assert ratio >= 4.5, (verdict, lab_theme, bg_var, fg.to_string(hex=True), ratio)


def test_plain_jupyterlab_verdict_variables_would_fail():
    """Why the mix is needed: JupyterLab 4.6's own warn/error colours fall below 4.5:1."""
    light, dark = css_variables(LAB_THEMES[0]), css_variables(LAB_THEMES[1])
    white, black = css_color("var(--jp-layout-color0)", light), css_color("var(--jp-layout-color0)", dark)
    assert css_color("var(--jp-warn-color0)", light).contrast(white, method="wcag21") < 4.5
    assert css_color("var(--jp-error-color0)", dark).contrast(black, method="wcag21") < 4.5


VERDICT_PAGE_JS = """(verdicts) => {
  const out = {background: getComputedStyle(document.body).backgroundColor};
  for (const [name, css] of Object.entries(verdicts)) {
    const s = document.createElement('span'); s.setAttribute('style', 'color:' + css); s.textContent = name;
    document.body.appendChild(s); out[name] = getComputedStyle(s).color;
  }
  return out;
}"""


@pytest.mark.parametrize("lab_theme", LAB_THEMES[:2])
def test_verdict_colours_in_chromium_with_jupyterlab_css(lab_theme, tmp_path):
    """The same check on what Chromium computes from JupyterLab's stylesheet (color-mix and var()
    must be valid CSS there, else the colour silently falls back to the text colour)."""
    from browser import lab
    from chromium_thread import ChromiumThread

    css = (THEMES_DIR / lab_theme / "index.css").as_uri()
    page_file = tmp_path / "verdicts.html"
    page_file.write_text(
        f'<!doctype html><html lang="en"><head><link rel="stylesheet" href="{css}"></head>'
        '<body style="background: var(--jp-layout-color0); color: var(--jp-content-font-color1)">'
        "</body></html>"
    )

    def computed(ctx):
        page = ctx.new_page()
        try:
            page.goto(page_file.as_uri())
            return page.evaluate(VERDICT_PAGE_JS, theme.VERDICT_CSS)
        finally:
            page.close()

    browser = ChromiumThread()
    try:
        browser.start()
    except lab.ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        got = browser.run(computed)
    finally:
        browser.close()
    bg = Color(got.pop("background"))
    text = css_color("var(--jp-content-font-color1)", css_variables(lab_theme), background=bg)
    for name, value in got.items():
        fg = Color(value).convert("srgb")
        assert fg.delta_e(text, method="2000") > 5, f"{name}: {value} is just the text colour"
        assert fg.contrast(bg, method="wcag21") >= 4.5, (name, value, bg)
