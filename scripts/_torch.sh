# Sourced by _env.sh: install_torch PYTHON installs the CPU build of torch into PYTHON's environment.
#
# torch's version is the pin of requirements.txt (torch==X). On Linux, PyPI's torch wheel is the CUDA
# build (a 0.5 GB wheel plus several GB of nvidia-* packages), so the PyTorch CPU wheel index is
# tried first (torch alone, --no-deps: its small dependencies come from PyPI with requirements.txt);
# when that index cannot be reached (short timeout, no retries), the plain pin is installed instead
# (on a machine whose pip finds a local CPU wheel, that wheel). macOS and Windows wheels on PyPI are
# CPU builds already: there the plain pin is installed directly.
#
# Settings (for tests and unusual machines): GAUGELAB_TORCH_INDEX (default: the PyTorch CPU index),
# GAUGELAB_TORCH_TIMEOUT (seconds, default 10), GAUGELAB_UNAME (default: `uname -s`).
# Every pip command is printed before it runs, as "[gaugelab] torch: <command>".

GAUGELAB_CPU_INDEX_DEFAULT=https://download.pytorch.org/whl/cpu

torch_pin() {
  # The torch==X line of requirements.txt (the one pin; no second copy of the version here).
  local pin
  pin=$(grep -E '^torch==[0-9][^ ;#]*' "$(dirname "${BASH_SOURCE[0]}")/../requirements.txt" | head -n1 | tr -d '[:space:]')
  [[ -n $pin ]] || { echo "[gaugelab] requirements.txt has no torch==X pin" >&2; return 1; }
  echo "$pin"
}

_torch_pip() {
  # Print the command, then run it; pip's harmless "Location ... is ignored" warnings are dropped.
  echo "[gaugelab] torch: $*"
  local out rc
  out=$("$@" 2>&1) && rc=0 || rc=$?
  [[ -z $out ]] || printf '%s\n' "$out" | grep -v "^WARNING: Location" || true
  return "$rc"
}

install_torch() {
  local py=$1 pin
  pin=$(torch_pin) || return 1
  local os=${GAUGELAB_UNAME:-$(uname -s)}
  local index=${GAUGELAB_TORCH_INDEX:-$GAUGELAB_CPU_INDEX_DEFAULT}
  local timeout=${GAUGELAB_TORCH_TIMEOUT:-10}
  if [[ $os == Linux ]]; then
    if _torch_pip "$py" -m pip install --quiet --no-deps --index-url "$index" \
        --timeout "$timeout" --retries 0 "$pin"; then
      return 0
    fi
    echo "[gaugelab] torch: the CPU wheel index $index could not be used; falling back to the plain pin"
  fi
  _torch_pip "$py" -m pip install --quiet "$pin"
}
