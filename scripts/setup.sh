#!/usr/bin/env bash
# Create .venv with torch and the suite (with its test extra). Safe to run again.
#   TORCH_SPEC   the torch requirement to install first (default torch==2.13.0)
#   TORCH_INDEX  an index URL for it, e.g. PyTorch's CPU-only wheel index on a laptop without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
torch_spec=${TORCH_SPEC:-torch==2.13.0}
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "installing $torch_spec ..."
    if [ -n "${TORCH_INDEX:-}" ]; then
        .venv/bin/python -m pip install -q "$torch_spec" --index-url "$TORCH_INDEX"
    else
        .venv/bin/python -m pip install -q "$torch_spec"
    fi
fi
echo "installing the suite and its dependencies ..."
.venv/bin/python -m pip install -q -e ".[test]"
echo "ready: .venv/bin/python run_benchmark.py --help"
