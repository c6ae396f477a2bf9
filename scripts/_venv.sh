# Sourced by scripts/serve and scripts/test: create or update .venv and install farmtrace into it.
# Re-installs only when setup.cfg changed since the last install, so a second run is quick.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv in .venv" >&2
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.farmtrace-installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  echo "installing farmtrace${EXTRAS:+ with [$EXTRAS]} into .venv" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  touch "$stamp"
fi
# Compile the translations (zh_CN is the default locale).
"$VENV/bin/pybabel" compile -d "$ROOT/trace/translations" -D messages >/dev/null 2>&1
