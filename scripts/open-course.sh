#!/usr/bin/env bash
# Set up the environment if needed, then open JupyterLab on the first notebook.
# Bound to 127.0.0.1 with token authentication on: a fresh random token each start (or JUPYTER_TOKEN
# if you set one), handed to Jupyter through the environment (JUPYTER_TOKEN), never on the command
# line, where `ps` shows it to every local user. Port: GAUGELAB_PORT if set (if it is taken, the
# script says so and stops), else 8888, else (8888 taken) a free port, said so. The address to open
# is printed once the server answers (?reset starts from a clean layout with only notebook 00).
source "$(dirname "$0")/_env.sh"
export JUPYTER_TOKEN=${JUPYTER_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')}
py=.venv/bin/python

port_free() { # exit 0 if 127.0.0.1:$1 can be bound (as Jupyter binds it, with SO_REUSEADDR)
  "$py" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

if [[ -n ${GAUGELAB_PORT:-} ]]; then
  port=$GAUGELAB_PORT
  if ! port_free "$port"; then
    echo "[gaugelab] port $port (GAUGELAB_PORT) is taken, by another JupyterLab perhaps: stop it, or set another GAUGELAB_PORT" >&2
    exit 1
  fi
else
  port=8888
  if ! port_free "$port"; then
    port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "[gaugelab] port 8888 is taken (another JupyterLab?); using port $port instead"
  fi
fi

extra=()
[[ $(id -u) == 0 ]] && extra+=(--allow-root)
.venv/bin/jupyter lab notebooks/00_start_here.ipynb \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --ServerApp.port_retries=0 \
  --ServerApp.root_dir="$PWD" \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  "${extra[@]}" "$@" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" || true; exit 130' INT TERM

# Wait until the server answers an authenticated request (the token is read from the environment).
if "$py" -c 'import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                             headers={"Authorization": "token " + os.environ["JUPYTER_TOKEN"]})
end = time.time() + 180
while time.time() < end:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)  # the server stopped
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)' "$port" "$server"; then
  echo "[gaugelab] open: http://127.0.0.1:${port}/lab/tree/notebooks/00_start_here.ipynb?reset&token=${JUPYTER_TOKEN}"
else
  echo "[gaugelab] JupyterLab did not start on 127.0.0.1:${port} (see its messages above)" >&2
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" || true
  exit 1
fi
wait "$server"
