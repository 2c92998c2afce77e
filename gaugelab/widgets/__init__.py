"""Interactive apps for the notebooks: ipywidgets controls, figures drawn in the page (`front.FrontFigure`).

Each app is built from pure update functions that tests call without a browser or kernel, shows a
static figure first (readable on GitHub, nbviewer and in HTML exports), then the live widget.

| app | notebook |
|---|---|
| :func:`orbit_demo`, :class:`OrbitExplorer` | 00, 01, 02: drag a neuron along its orbit |
| :class:`LandscapeWidget` | 03, 04, 05: the scalar toy L(a, w) with GD paths |
| :class:`RelaxationPlayer` | 05: imbalance decay, simulated vs closed form |
| :class:`StabilityApp` | 06: orbit point and step size → stable or not |
| :class:`StabilityExplorer` | 07: η, λ, ρ0 → baseline vs gauge-fixed |
| ``gauge_optim.EquivarianceApp``, ``gauge_optim.TeleportApp`` | 08, 09 |

The apps of 06–09 precompute every state and are drawn by :class:`lookup.LookupFigure`.
"""

from gaugelab.widgets.envcheck import check_environment, render_probe
from gaugelab.widgets.landscape import LandscapeWidget
from gaugelab.widgets.orbit import OrbitExplorer, orbit_demo, orbit_explorer, orbit_state
from gaugelab.widgets.relaxation import RelaxationPlayer
from gaugelab.widgets.stability import StabilityApp
from gaugelab.widgets.stability_explorer import StabilityExplorer

__all__ = [
    "LandscapeWidget",
    "OrbitExplorer",
    "RelaxationPlayer",
    "StabilityApp",
    "StabilityExplorer",
    "check_environment",
    "orbit_demo",
    "orbit_explorer",
    "orbit_state",
    "render_probe",
]
