#!/usr/bin/env bash
# Set up the project: .venv (Python >= 3.12) with uv, the package with its dev extras,
# and Solara's offline asset cache. With --test, also Debian's chromium for the
# real-browser tests. Idempotent: a second run only checks (a few seconds).
#
#   bash scripts/setup.sh          # development / running the app
#   bash scripts/setup.sh --test   # + /usr/bin/chromium (apt) for tests marked "browser"
set -euo pipefail

want_test=0
for arg in "$@"; do
    case "$arg" in
        --test) want_test=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "setup: unknown argument: $arg (usage: scripts/setup.sh [--test])" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
venv="$root/.venv"
log=$(mktemp -t setup-log.XXXXXX)
trap 'rm -f "$log"' EXIT

step() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
# run a command quietly; on failure show its output and stop
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; die "failed: $*"; }; }
py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

# 1. the virtual environment
if [ -x "$venv/bin/python" ] && py_ok "$venv/bin/python"; then
    step ".venv ok ($("$venv/bin/python" -c 'import platform; print(platform.python_version())'))"
else
    candidates=(python3.12)
    if command -v pyenv >/dev/null 2>&1; then
        candidates+=("$(pyenv root)/versions/3.12.1/bin/python")
    fi
    candidates+=("$HOME/.pyenv/versions/3.12.1/bin/python" python3.14 python3.13 python3 python)
    py=""
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then
            py=$("$c" -c 'import sys; print(sys.executable)'); break  # the real one, not a shim
        fi
    done
    [ -n "$py" ] || die "no Python >= 3.12 found (tried: ${candidates[*]}); install one, e.g. 'pyenv install 3.12'"
    [ -e "$venv" ] && { step "removing broken or too-old .venv"; rm -rf "$venv"; }
    step "creating .venv with $py ($("$py" -c 'import platform; print(platform.python_version())'))"
    quiet "$py" -m venv "$venv"
fi

# 2. uv inside the venv (pip only bootstraps it; uv ignores pip.conf and uses PyPI)
if [ ! -x "$venv/bin/uv" ]; then
    step "installing uv into .venv"
    quiet "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi

# 3. the project and its dev extras, compiled to bytecode at install time: where
#    PYTHONDONTWRITEBYTECODE is set, nothing is compiled later, and every command would
#    recompile numpy, scipy, pandas and Mesa from source (~0.5-1.5 s per start)
step "installing the project with dev extras (uv, bytecode compiled)"
quiet "$venv/bin/uv" pip install --python "$venv/bin/python" --compile-bytecode -e ".[dev]"
quiet "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" sim analysis run.py

# 4. Solara's front-end assets, from the npm registry into Solara's proxy cache
if ! command -v npm >/dev/null 2>&1; then
    die "npm not found: it is needed to fetch Solara's front-end assets (apt-get install -y npm)"
fi
step "solara offline assets"
"$venv/bin/python" scripts/solara_assets.py

# 5. (--test) Debian chromium for the real-browser tests; never 'playwright install'
if [ "$want_test" = 1 ]; then
    if [ -x /usr/bin/chromium ]; then
        step "chromium ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
    else
        sudo=()
        if [ "$(id -u)" != 0 ]; then
            command -v sudo >/dev/null 2>&1 || die "chromium missing and not root (no sudo): apt-get install -y chromium"
            sudo=(sudo)
        fi
        step "installing chromium (apt-get)"
        quiet "${sudo[@]}" apt-get update -q
        quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
        [ -x /usr/bin/chromium ] || die "apt-get installed chromium but /usr/bin/chromium is missing"
        step "chromium installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
    fi
fi

step "done"
