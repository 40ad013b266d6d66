# Sourced by bin/run and bin/test: create or refresh .venv from the requirements file given as $1.
# Reinstalls only when a requirements file changed since the last install.
set -euo pipefail
requirements="$1"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements" .txt)"
if [ ! -f "$stamp" ] || [ -n "$(find requirements*.txt -newer "$stamp")" ]; then
  echo "Installing $requirements"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi
