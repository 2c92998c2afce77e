#!/usr/bin/env bash
# Set up the environment if needed, then open JupyterLab on the first notebook.
# Bound to 127.0.0.1, token authentication on (the login URL with its token is printed below).
source "$(dirname "$0")/_env.sh"
extra=()
[[ $(id -u) == 0 ]] && extra+=(--allow-root)
exec .venv/bin/jupyter lab notebooks/00_start_here.ipynb \
  --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$PWD" \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  "${extra[@]}" "$@"
