#!/usr/bin/env bash
# Build the one-folder app dist/Gen2Res with PyInstaller, then start it once to check it.
#
#   packaging/build.sh                    # new venv in build/pyinstaller-venv, project + PyInstaller
#   packaging/build.sh --python PYTHON    # use an environment that already has the project
#
# Environment: PYTHON (interpreter for the new venv, default python3), TORCH (the torch
# requirement, e.g. "torch --index-url https://download.pytorch.org/whl/cu128" for an
# NVIDIA build; see packaging/README.md). Works on Linux, macOS and Git Bash on Windows.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="build/pyinstaller-venv"
PYINSTALLER="pyinstaller>=6.10"

if [[ "${1:-}" == "--python" ]]; then
    BUILD_PY="${2:?--python needs the path of a Python interpreter}"
else
    if [[ ! -d "$VENV" ]]; then
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    if [[ -x "$VENV/Scripts/python.exe" ]]; then BUILD_PY="$VENV/Scripts/python.exe"; else BUILD_PY="$VENV/bin/python"; fi
    "$BUILD_PY" -m pip install --upgrade pip
    # torch first and on its own, so the project's dependency on it does not pull another build
    # shellcheck disable=SC2086 # TORCH may carry pip options
    "$BUILD_PY" -m pip install ${TORCH:-torch}
    "$BUILD_PY" -m pip install .
fi
"$BUILD_PY" -m pip install "$PYINSTALLER"

start=$(date +%s)
"$BUILD_PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/gen2res.spec
echo "Built dist/Gen2Res in $(($(date +%s) - start)) s: $(du -sh dist/Gen2Res | cut -f1)"

# The check: the CLI answers, and the GUI opens its main window offscreen and closes it.
exe=""
[[ -f dist/Gen2Res/gen2res.exe ]] && exe=".exe"
"dist/Gen2Res/gen2res$exe" --version
QT_QPA_PLATFORM=offscreen "dist/Gen2Res/gen2res-desktop$exe" --smoke-test
