#!/usr/bin/env bash
# The GPU check (bench/gpu.py): curriculumc run vs HF Trainer tokens/s (bf16), the host's
# share of step time, BLiMP pairs/s; one table, and the figures as JSON ($OUT/ or the temp
# folder, curriculumc-gpu.json; --json FILE to choose). Under 8 minutes on one modern GPU;
# --quick for about 2-3. Run from anywhere:  bench/gpu.sh [--quick] [bench/gpu.py options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
cd "$root"
exec "$python" bench/gpu.py "$@"
