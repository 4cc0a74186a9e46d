#!/usr/bin/env bash
# Create ./.venv and install fairsplit with its test extras. Idempotent.
# torch is pinned to 2.13.0 and installed first: an unpinned torch pulls several GB of
# CUDA packages, while 2.13.0 resolves to the CPU wheel where one is provided locally.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "fairsplit installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
