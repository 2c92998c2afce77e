#!/usr/bin/env bash
# Set up the environment if needed, then run the whole test suite: lint, unit and property tests,
# and every notebook executed top to bottom with nbval.
source "$(dirname "$0")/_env.sh"
echo "[gaugelab] ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check gaugelab tests benchmarks
echo "[gaugelab] pytest: unit tests and notebooks"
.venv/bin/python -m pytest tests notebooks --nbval-lax --nbval-current-env "$@"
