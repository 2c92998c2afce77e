"""Interactive apps for the notebooks (ipywidgets + plotly FigureWidget).

Each app is built from pure update functions that tests call without a browser or kernel, shows a
static figure first (readable on GitHub, nbviewer and in HTML exports), then the live widget.
"""

from gaugelab.widgets.landscape import LandscapeWidget  # noqa: E402,F401
from gaugelab.widgets.relaxation import RelaxationPlayer  # noqa: E402,F401
from gaugelab.widgets.stability import StabilityApp  # noqa: E402,F401

# isort: split
from gaugelab.widgets.envcheck import check_environment, render_probe  # noqa: E402,F401
from gaugelab.widgets.orbit import OrbitExplorer, orbit_demo, orbit_explorer, orbit_state  # noqa: E402,F401
