#!/usr/bin/env bash
# Set up everything that is missing, then run the whole test suite: the .venv (scripts/_env.sh),
# Chromium and npm for the browser tests (scripts/_chromium.sh: installed with apt-get when the
# machine can, else a stop with the exact command), then lint, unit and property tests, browser
# tests and every notebook executed top to bottom with nbval.
source "$(dirname "$0")/_env.sh"
source scripts/_chromium.sh
ensure_browser_tools
echo "[gaugelab] ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check gaugelab tests benchmarks
echo "[gaugelab] pytest: unit tests and notebooks"
.venv/bin/python -m pytest tests notebooks --nbval-lax --nbval-current-env "$@"
