# Sourced by the bench/*/setup.sh scripts: `side_venv NAME` moves to bench/ and creates the virtualenv
# bench/NAME (Python 3.11, or $PYTHON) unless it exists; VENV names it afterwards.
side_venv() {
  cd "$(dirname "${BASH_SOURCE[0]}")"
  local python=${PYTHON:-$(command -v python3.11 || command -v python3)}
  VENV=$1
  if [ ! -x "$VENV/bin/python" ]; then
    "$python" -m venv "$VENV"
  fi
}
