#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against the real daemon
# over HTTPS, and Socket.IO tests with the off-the-shelf Node and Python
# clients (installed here, pinned by tests/socketio/package-lock.json and
# requirements.txt, into tests/socketio/node_modules and target/pyenv).
#
#   scripts/test.sh            # everything
#   scripts/test.sh events     # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Socket.IO client dependencies"
(cd tests/socketio && npm ci --no-audit --no-fund --loglevel=error)
if [ ! -x target/pyenv/bin/python ]; then
    mkdir -p target
    python3 -m venv target/pyenv
fi
target/pyenv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/socketio/requirements.txt
export VP2730_PYTHON="$PWD/target/pyenv/bin/python"
export VP2730_NODE="${VP2730_NODE:-node}"

# VP2730_TEST_SCOPE narrows what is built and run (scripts/qemu/user-tests.sh:
# "--workspace --test *", the integration tests only).
read -r -a scope <<<"${VP2730_TEST_SCOPE:---workspace --all-targets}"
echo "== cargo test ${scope[*]} $*"
cargo test "${scope[@]}" "$@"
