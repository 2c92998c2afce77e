# Sourced by open-course.sh and run-tests.sh: create .venv with the pinned stack if it is missing
# or older than requirements.txt / pyproject.toml, install gaugelab into it (editable), and set
# JupyterLab's settings (no news pop-up; widget outputs kept rendered while scrolling).
# torch is installed first, as the CPU build (scripts/_torch.sh: the PyTorch CPU wheel index on
# Linux, with a quick fallback to the plain pin), so that requirements.txt finds it already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/_torch.sh
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "GaugeLab needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2; exit 1; }
stamp=.venv/.gaugelab-installed
if [[ ! -x .venv/bin/python || ! -f $stamp || requirements.txt -nt $stamp || pyproject.toml -nt $stamp ]]; then
  echo "[gaugelab] setting up .venv (first time: one to a few minutes) ..."
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  install_torch .venv/bin/python || {
    echo "[gaugelab] installing torch failed (see pip's messages above)" >&2; exit 1; }
  echo "[gaugelab] pip install -r requirements.txt"
  .venv/bin/python -m pip install --quiet -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  # setuptools warns about every editable install ("Please be careful with folders..."): shown only
  # if the install fails.
  if ! pip_out=$(.venv/bin/python -m pip install --quiet --no-deps -e . 2>&1); then
    printf '%s\n' "$pip_out" >&2
  fi
  .venv/bin/python -c "import gaugelab, torch, plotly, ipywidgets, anywidget, nbval" || {
    echo "[gaugelab] installation failed (see pip's messages above)" >&2; exit 1; }
  echo "[gaugelab] torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'), venv $(du -sh .venv | cut -f1)"
  mkdir -p .venv/share/jupyter/lab/settings
  cp binder/overrides.json .venv/share/jupyter/lab/settings/overrides.json
  touch "$stamp"
fi
