"""Environment check for the course: says in plain words what would stop widgets or plots rendering.

The kernel can see its own Python packages and the JupyterLab extensions installed next to them,
not the browser. So :func:`environment_checks` inspects what the kernel can (packages, versions,
matching front-end extensions, whether it runs in a Jupyter kernel, hints about the front end),
and :func:`render_probe` is a tiny widget that reports back when the browser really drew it.

    from gaugelab.widgets.envcheck import check_environment, render_probe
    check_environment()      # prints ✓ / ! / ✗ lines with what to do
    render_probe()           # turns into "✓ …" only if the widget front end works
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: What the course needs, with the reason given to the student when it is missing.
LAB_EXTENSIONS = {
    "@jupyter-widgets/jupyterlab-manager": (
        "jupyterlab_widgets",
        "draws ipywidgets (sliders, dropdowns, buttons)",
    ),
    "anywidget": ("anywidget", "draws plotly's FigureWidget (the live figures)"),
    "jupyterlab-plotly": ("plotly", "draws interactive plotly figures"),
}


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is "ok", "warn" or "fail"; ``fix`` says what to do."""

    name: str
    status: str
    message: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def version_satisfies(version: str, spec: str) -> bool | None:
    """Whether ``version`` satisfies the requirement specifier ``spec`` (e.g. "~=3.0.17");
    None if the ``packaging`` library is not available to decide."""
    try:
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version
    except ImportError:  # pragma: no cover - packaging ships with jupyter
        return None
    return Version(version) in SpecifierSet(spec)


def _pinned_requirements(dist: str) -> dict[str, str]:
    """{name: specifier} of ``dist``'s unconditional requirements (no extras, no markers)."""
    out = {}
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover
        return out
    for line in metadata.requires(dist) or []:
        req = Requirement(line)
        if req.marker is None and str(req.specifier):
            out[req.name.lower().replace("-", "_")] = str(req.specifier)
    return out


def find_lab_extensions(paths=None) -> dict[str, dict]:
    """Installed (prebuilt) JupyterLab extensions: {name: {"version", "path"}} from the jupyter
    data paths the kernel sees (``jupyter --paths``), first hit wins."""
    if paths is None:
        try:
            from jupyter_core.paths import jupyter_path

            paths = jupyter_path("labextensions")
        except ImportError:
            paths = [os.path.join(sys.prefix, "share", "jupyter", "labextensions")]
    found: dict[str, dict] = {}
    for root in paths:
        root = Path(root)
        if not root.is_dir():
            continue
        for pkg in list(root.glob("*/package.json")) + list(root.glob("@*/*/package.json")):
            try:
                meta = json.loads(pkg.read_text())
            except (OSError, ValueError):
                continue
            found.setdefault(
                meta.get("name", pkg.parent.name), {"version": meta.get("version"), "path": str(pkg.parent)}
            )
    return found


def disabled_lab_extensions(config_paths=None) -> set[str]:
    """Extensions disabled in any ``labconfig/page_config.json`` on the jupyter config path."""
    if config_paths is None:
        try:
            from jupyter_core.paths import jupyter_config_path

            config_paths = jupyter_config_path()
        except ImportError:
            config_paths = []
    out: set[str] = set()
    for root in config_paths:
        f = Path(root) / "labconfig" / "page_config.json"
        if not f.is_file():
            continue
        try:
            cfg = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        disabled = cfg.get("disabledExtensions", {})
        if isinstance(disabled, dict):
            out |= {k for k, v in disabled.items() if v}
        elif isinstance(disabled, list):
            out |= set(disabled)
    return out


def _shell_kind() -> str:
    """ "kernel" (Jupyter kernel), "terminal" (IPython in a terminal) or "python" (no IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return "python"
    ip = get_ipython()
    if ip is None:
        return "python"
    name = type(ip).__name__
    if name == "ZMQInteractiveShell" or "ipykernel" in sys.modules:
        return "kernel"
    return "terminal"


def environment_checks() -> list[Check]:
    """Every check of the course's environment, in reading order (see the module docstring)."""
    checks: list[Check] = []
    add = checks.append

    # 1. Python and the numerical stack
    py = sys.version_info
    add(
        Check("Python", "ok", f"Python {py.major}.{py.minor}.{py.micro}")
        if py >= (3, 11)
        else Check("Python", "fail", f"Python {py.major}.{py.minor} is too old", "use Python 3.11 or newer")
    )
    for mod, why in (("torch", "the networks"), ("numpy", "arrays"), ("gaugelab", "the course package")):
        try:
            m = importlib.import_module(mod)
            add(Check(mod, "ok", f"{mod} {getattr(m, '__version__', '?')} imports ({why})"))
        except Exception as exc:  # noqa: BLE001 - report any import failure in words
            add(
                Check(
                    mod,
                    "fail",
                    f"{mod} does not import: {type(exc).__name__}: {exc}",
                    "run `bash scripts/open-course.sh` from the repository root (it sets up .venv), "
                    "and pick the kernel of that environment",
                )
            )

    # 2. widgets: ipywidgets 8 and the versions it pins for its front end
    ipw = _version("ipywidgets")
    if ipw is None:
        add(
            Check(
                "ipywidgets",
                "fail",
                "ipywidgets is not installed: no sliders",
                "pip install 'ipywidgets>=8.1'",
            )
        )
    elif int(ipw.split(".")[0]) < 8:
        add(
            Check(
                "ipywidgets",
                "fail",
                f"ipywidgets {ipw} is too old (the course needs 8.x; 7.x widgets show "
                "'Error displaying widget: model not found' in JupyterLab 4)",
                "pip install 'ipywidgets>=8.1'",
            )
        )
    else:
        add(Check("ipywidgets", "ok", f"ipywidgets {ipw}"))
        for dep, spec in _pinned_requirements("ipywidgets").items():
            if dep not in ("jupyterlab_widgets", "widgetsnbextension"):
                continue
            have = _version(dep)
            if have is None:
                add(
                    Check(
                        dep,
                        "fail",
                        f"{dep} is missing: ipywidgets {ipw} needs {dep}{spec} for its front end",
                        f"pip install '{dep}{spec}'",
                    )
                )
            elif version_satisfies(have, spec) is False:
                add(
                    Check(
                        dep,
                        "fail",
                        f"version mismatch: ipywidgets {ipw} needs {dep}{spec}, found {have}; "
                        "widgets may show 'Error displaying widget' or a javascript error",
                        f"pip install 'ipywidgets=={ipw}' '{dep}{spec}' and restart JupyterLab",
                    )
                )
            else:
                add(Check(dep, "ok", f"{dep} {have} (matches ipywidgets' {spec})"))

    # 3. plotly and anywidget (plotly >= 6 needs anywidget for FigureWidget)
    pl = _version("plotly")
    if pl is None:
        add(
            Check(
                "plotly", "fail", "plotly is not installed: no figures", "pip install 'plotly>=6' anywidget"
            )
        )
    else:
        add(Check("plotly", "ok", f"plotly {pl}"))
        aw = _version("anywidget")
        if aw is None and int(pl.split(".")[0]) >= 6:
            add(
                Check(
                    "anywidget",
                    "fail",
                    f"anywidget is missing: plotly {pl}'s FigureWidget (every live figure here) needs it "
                    "('ImportError: Please install anywidget to use the FigureWidget class')",
                    "pip install anywidget",
                )
            )
        elif aw is not None:
            add(Check("anywidget", "ok", f"anywidget {aw}"))

    # 4. the front-end extensions next to the kernel
    exts = find_lab_extensions()
    disabled = disabled_lab_extensions()
    for name, (dist, role) in LAB_EXTENSIONS.items():
        have = exts.get(name)
        if have is None:
            add(
                Check(
                    f"lab extension {name}",
                    "fail",
                    f"the JupyterLab extension {name} (it {role}) is not installed where this kernel "
                    "looks; in JupyterLab you would see the widget's text form or 'Error displaying widget'",
                    f"pip install {dist} into the environment that runs JupyterLab, then restart JupyterLab "
                    "and reload the page (no `jupyter lab build` needed)",
                )
            )
            continue
        if name in disabled:
            add(
                Check(
                    f"lab extension {name}",
                    "fail",
                    f"the JupyterLab extension {name} is installed but disabled",
                    f"jupyter labextension enable {name}",
                )
            )
            continue
        py_version = _version(dist)
        if name != "@jupyter-widgets/jupyterlab-manager" and py_version and have["version"] != py_version:
            add(
                Check(
                    f"lab extension {name}",
                    "warn",
                    f"version mismatch: front end {name} {have['version']} but Python {dist} {py_version}; "
                    "an old copy elsewhere on the jupyter path may be shadowing the new one",
                    f"pip install --force-reinstall {dist}=={py_version}; check `jupyter labextension list`",
                )
            )
        else:
            add(Check(f"lab extension {name}", "ok", f"{name} {have['version']}: {role}"))

    # 5. kernel and front end
    kind = _shell_kind()
    if kind == "kernel":
        add(Check("kernel", "ok", "running in a Jupyter kernel: widgets can be live"))
    elif kind == "terminal":
        add(
            Check(
                "kernel",
                "warn",
                "running in IPython in a terminal: widgets and figures cannot display here",
                "open the notebooks in JupyterLab (bash scripts/open-course.sh)",
            )
        )
    else:
        add(
            Check(
                "kernel",
                "warn",
                "not running inside Jupyter: only the computing parts work here",
                "open the notebooks in JupyterLab (bash scripts/open-course.sh)",
            )
        )
    add(_front_end_check())
    return checks


def _front_end_check() -> Check:
    """What can be told about the front end from the kernel side (the browser is out of sight)."""
    if "google.colab" in sys.modules:
        return Check(
            "front end",
            "warn",
            "Google Colab: third-party widgets need Colab's custom widget manager",
            "run `from google.colab import output; output.enable_custom_widget_manager()` first",
        )
    if "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
        return Check(
            "front end",
            "warn",
            "VS Code: ipywidgets work with its Jupyter extension; if a figure stays blank, "
            "open the course in JupyterLab instead",
            "bash scripts/open-course.sh",
        )
    nb = _version("notebook")
    if nb is not None and int(nb.split(".")[0]) < 7:
        return Check(
            "front end",
            "warn",
            f"the classic Notebook {nb} is installed: it uses different extensions (nbextensions), and "
            "plotly's FigureWidget (anywidget) may not draw there",
            "use JupyterLab (`jupyter lab`) or Notebook 7",
        )
    lab = _version("jupyterlab")
    where = f"JupyterLab {lab} is installed" if lab else "JupyterLab is not installed in this environment"
    return Check(
        "front end",
        "ok" if lab else "warn",
        f"{where}; the kernel cannot see which page the browser shows: the course is tested in "
        "JupyterLab 4 (Notebook 7 uses the same extensions)",
    )


_SYMBOL = {"ok": "✓", "warn": "!", "fail": "✗"}


def format_report(checks: list[Check]) -> str:
    """The checks as plain text lines: ``✓``/``!``/``✗``, the message and, for problems, what to do."""
    lines = []
    for c in checks:
        lines.append(f"{_SYMBOL.get(c.status, '?')} {c.name}: {c.message}")
        if c.status != "ok" and c.fix:
            lines.append(f"    → what to do: {c.fix}")
    n_fail = sum(c.status == "fail" for c in checks)
    n_warn = sum(c.status == "warn" for c in checks)
    if n_fail:
        lines.append(
            f"{n_fail} problem(s) found: widgets or figures will not work until fixed (see → lines)."
        )
    elif n_warn:
        lines.append(f"No blocking problem; {n_warn} note(s) above.")
    else:
        lines.append("Everything the kernel can check is in order.")
    return "\n".join(lines)


def check_environment(print_report: bool = True) -> list[Check]:
    """Run :func:`environment_checks`, print :func:`format_report` and return the checks."""
    checks = environment_checks()
    if print_report:
        print(format_report(checks))
    return checks


PROBE_WAITING = (
    "If you can read this line as plain text starting with HTML(value=..., or see an error box instead "
    "of a green ✓ line, the widget front end is not working: see the ✗ lines of the check above."
)
PROBE_OK = "✓ widgets render here: the browser drew this widget and told the kernel so."


def render_probe():
    """A one-line ipywidgets.HTML that the browser rewrites to a ✓ message once it has drawn it.

    It counts its views (``_view_count``, which the front end increments when it draws the widget);
    the first view switches the text to :data:`PROBE_OK`. Without a working widget front end, the
    notebook shows the widget's text form, whose value is :data:`PROBE_WAITING`.
    """
    import ipywidgets as widgets

    probe = widgets.HTML(value=PROBE_WAITING)
    probe._view_count = 0

    def _drawn(change):
        if (change["new"] or 0) > 0:
            probe.value = f"<b style='color:#2a7d2a'>{PROBE_OK}</b>"

    probe.observe(_drawn, names="_view_count")
    return probe
