#!/usr/bin/env bash
# Set up the environment if needed, then open JupyterLab on the first notebook.
# Bound to 127.0.0.1 with token authentication on: a fresh random token each start (or
# JUPYTER_TOKEN if you set one), printed below in the address to open (?reset starts from a clean
# layout with only the first notebook open).
source "$(dirname "$0")/_env.sh"
token=${JUPYTER_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')}
port=${GAUGELAB_PORT:-8888}
extra=()
[[ $(id -u) == 0 ]] && extra+=(--allow-root)
echo "[gaugelab] open: http://127.0.0.1:${port}/lab/tree/notebooks/00_start_here.ipynb?reset&token=${token}"
exec .venv/bin/jupyter lab notebooks/00_start_here.ipynb \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --IdentityProvider.token="$token" \
  --ServerApp.root_dir="$PWD" \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  "${extra[@]}" "$@"
