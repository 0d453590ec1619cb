# shellcheck shell=bash
# Helpers shared by the scripts in scripts/: the test venv, the collection copy
# that ansible-test needs, and the offline pip bootstrap for ansible-test.
#
# Source it after `set -euo pipefail`; it sets REPO_ROOT, VENV, BUILD_ROOT and
# COLLECTION_COPY, and changes nothing until a function is called.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SSEC_VENV:-$REPO_ROOT/.venv}"
BUILD_ROOT="$REPO_ROOT/.build/collections"
COLLECTION_COPY="$BUILD_ROOT/ansible_collections/ssec/s3"
# ansible-test keeps its pip bootstrap scripts here (see ansible_test/_util/target/setup/requirements.py).
ANSIBLE_TEST_CACHE="${HOME}/.ansible/test/cache"
# The Python version the tests run on (ansible-core 2.19 is the newest for 3.11).
PYTHON_VERSION=3.11

log() {
    printf '%s\n' "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# Serialise the runs that share this checkout's .build/ (another run would delete the
# collection copy under the feet of this one). The lock is held until the shell exits.
lock_build_dir() {
    local lock="$REPO_ROOT/.build/test.lock"
    mkdir -p "$REPO_ROOT/.build"
    exec 9>"$lock"
    if ! flock --nonblock 9; then
        log "Another test run uses $REPO_ROOT/.build; waiting for it to finish..."
        flock 9
    fi
}

# Create the venv if it is missing or broken, and (re)install the requirements
# when the requirement files changed since the last install (sha256 stamp).
# $1: the requirements file, relative to the repository (default: the test toolchain).
ensure_venv() {
    local python="${PYTHON:-python3}" stamp want have="" version requirements="${1:-tests/requirements.txt}"
    stamp="$VENV/.requirements.sha256"

    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "Creating the virtual environment $VENV with $("$python" --version 2>&1)"
        rm -rf "$VENV"
        if ! "$python" -m venv "$VENV"; then
            # Debian splits ensurepip out of the interpreter package.
            if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
                log "python3 -m venv failed: installing python3-venv with apt-get"
                rm -rf "$VENV"
                apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
                "$python" -m venv "$VENV"
            else
                die "$python -m venv failed: install the venv module (Debian: apt-get install python3-venv)"
            fi
        fi
    fi
    version="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [[ "$version" != "$PYTHON_VERSION" ]]; then
        die "$VENV uses Python $version, the tests need $PYTHON_VERSION: remove $VENV and run again with PYTHON=python$PYTHON_VERSION"
    fi

    want="$(cd "$REPO_ROOT" && {
        sha256sum requirements.txt "$requirements"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" ]]; then
        have="$(cat "$stamp")"
    fi
    if [[ "$have" != "$want" ]]; then
        log "Installing $requirements into $VENV"
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
        (cd "$REPO_ROOT/$(dirname "$requirements")" &&
            "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$(basename "$requirements")")
        printf '%s\n' "$want" >"$stamp"
    else
        log "Virtual environment $VENV is up to date"
    fi
}

# A venv with ansible-core VERSION (an older release) and tests/requirements-core.txt,
# under .build/ (ignored, never in the built artifact); prints its path.
ensure_core_venv() {
    local version=$1 venv="$REPO_ROOT/.build/venv-core-$1" stamp want
    stamp="$venv/.requirements.sha256"
    want="$(cd "$REPO_ROOT" && cat requirements.txt tests/requirements-core.txt | sha256sum | cut -d' ' -f1)"
    if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        log "Creating $venv with ansible-core $version"
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        (cd "$REPO_ROOT/tests" && "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
            -r requirements-core.txt "ansible-core==$version.*") >&2
        printf '%s\n' "$want" >"$stamp"
    fi
    printf '%s\n' "$venv"
}

# The venv of the ecosystem's checkers (tests/requirements-ecosystem.txt) under .build/;
# prints its path.
ensure_ecosystem_venv() {
    local venv="$REPO_ROOT/.build/venv-ecosystem" stamp want
    stamp="$venv/.requirements.sha256"
    want="$(sha256sum <"$REPO_ROOT/tests/requirements-ecosystem.txt" | cut -d' ' -f1)"
    if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        log "Creating $venv for antsibull-docs and galaxy-importer"
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        (cd "$REPO_ROOT/tests" && "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
            -r requirements-ecosystem.txt) >&2
        printf '%s\n' "$want" >"$stamp"
    fi
    printf '%s\n' "$venv"
}

# A clean copy of the collection (tracked files plus untracked, not ignored ones)
# at .build/collections/ansible_collections/ssec/s3, where ansible-test needs it.
build_collection_copy() {
    local list
    list="$(mktemp)"
    rm -rf "$COLLECTION_COPY"
    mkdir -p "$COLLECTION_COPY"
    (
        cd "$REPO_ROOT" || exit
        # --cached lists files deleted in the worktree too: keep only those that exist.
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' file; do
                if [[ -e "$file" || -L "$file" ]]; then
                    printf '%s\0' "$file"
                fi
            done >"$list"
        tar --create --no-recursion --null --files-from="$list" | tar --extract --directory "$COLLECTION_COPY"
    )
    log "Copied $(tr -cd '\0' <"$list" | wc -c) files of the collection to $COLLECTION_COPY"
    rm -f "$list"
}

# The pip version ansible-test bootstraps into the venvs it creates, as
# ansible-test itself computes it (python_requirements.get_venv_packages).
ansible_test_pip_version() {
    "$VENV/bin/python" - <<'EOF'
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="%d.%d" % __import__("sys").version_info[:2]))["pip"])
EOF
}

# ansible-test bootstraps pip in its venvs with a get-pip script downloaded from
# ci-files.testing.ansible.com, which is not reachable here. It uses
# ~/.ansible/test/cache/get_pip_<ver>.py when present: put a stand-in there that
# installs pip from the pip wheel of the same version (from the package index).
ensure_pip_bootstrap() {
    local version script wheel
    version="$(ansible_test_pip_version)"
    script="$ANSIBLE_TEST_CACHE/get_pip_${version//./_}.py"
    wheel="$ANSIBLE_TEST_CACHE/pip-${version}-py3-none-any.whl"
    mkdir -p "$ANSIBLE_TEST_CACHE"
    if [[ ! -f "$wheel" ]]; then
        log "Downloading the pip $version wheel for ansible-test's bootstrap"
        "$VENV/bin/python" -m pip download --disable-pip-version-check --quiet \
            --no-deps --only-binary=:all: --dest "$ANSIBLE_TEST_CACHE" "pip==$version"
    fi
    [[ -f "$wheel" ]] || die "pip download did not produce $wheel"
    if [[ ! -f "$script" ]] || ! grep -q 'ssec.s3 stand-in v2' "$script"; then
        cat >"$script.tmp" <<EOF
# ssec.s3 stand-in v2 for ansible-test's get-pip-${version}.py (written by scripts/lib.sh).
# ansible-test runs it with pip install arguments plus get-pip's own
# --no-setuptools/--no-wheel; it installs pip from the wheel beside it, and what
# else it is asked for (older ansible-test also pins setuptools and wheel) from the index.
import os
import runpy
import sys

WHEEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-${version}-py3-none-any.whl")
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.path.insert(0, WHEEL)
sys.argv = ["pip", "install", "--find-links", os.path.dirname(WHEEL)] + ARGS
runpy.run_module("pip", run_name="__main__", alter_sys=True)
EOF
        mv "$script.tmp" "$script"
        log "Wrote the ansible-test pip bootstrap stand-in $script"
    fi
}
