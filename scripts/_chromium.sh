# Sourced by run-tests.sh: ensure_browser_tools makes sure the browser tests can run.
#
# They need Chromium (Playwright drives the system's Chromium; never `playwright install`) and npm
# (the tests install the pinned axe-core with it). What is missing is installed with apt-get when
# the machine can (Debian, or Ubuntu, as root or with password-less sudo); otherwise this stops at
# once with the exact command to run. Debian's package is `chromium` (/usr/bin/chromium); Ubuntu's
# `chromium-browser` installs the snap (/snap/bin/chromium, not tried here).
#
# Settings: GAUGELAB_CHROMIUM (Chromium's path, default /usr/bin/chromium, as in tests/browser/lab.py);
# GAUGELAB_OS_RELEASE (default /etc/os-release, read for ID / ID_LIKE).

_gaugelab_os() {
  # "debian", "ubuntu" or "other", from os-release's ID and ID_LIKE.
  local ids
  ids=$( (. "${GAUGELAB_OS_RELEASE:-/etc/os-release}" 2>/dev/null && echo " ${ID:-} ${ID_LIKE:-} ") || echo " ")
  case $ids in
    *" ubuntu "*) echo ubuntu ;;
    *" debian "*) echo debian ;;
    *) echo other ;;
  esac
}

ensure_browser_tools() {
  local chromium=${GAUGELAB_CHROMIUM:-/usr/bin/chromium}
  local os packages=() need_chromium=0
  os=$(_gaugelab_os)
  if [[ ! -x $chromium ]]; then
    need_chromium=1
    if [[ $os == ubuntu ]]; then packages+=(chromium-browser); else packages+=(chromium); fi
  fi
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  ((${#packages[@]})) || return 0
  local install="apt-get update && apt-get install -y ${packages[*]}"
  if [[ $os == other ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[gaugelab] the browser tests need: ${packages[*]} (not found). This is not Debian or Ubuntu:" \
      "install them with your package manager, and set GAUGELAB_CHROMIUM=/path/to/chromium" \
      "if Chromium is not at $chromium." >&2
    return 1
  fi
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo)
    else
      echo "[gaugelab] the browser tests need: ${packages[*]} (not found). Install with:" \
        "sudo sh -c '$install'" >&2
      return 1
    fi
  fi
  echo "[gaugelab] installing ${packages[*]}: ${sudo[*]:+${sudo[*]} }$install"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
  if ((need_chromium)) && [[ ! -x $chromium ]]; then
    local found
    found=$(command -v chromium || command -v chromium-browser || true)
    [[ -z $found && -x /snap/bin/chromium ]] && found=/snap/bin/chromium
    if [[ -z $found ]]; then
      echo "[gaugelab] Chromium is still not at $chromium: set GAUGELAB_CHROMIUM to its path" >&2
      return 1
    fi
    export GAUGELAB_CHROMIUM=$found
    echo "[gaugelab] Chromium: $found"
  fi
}
