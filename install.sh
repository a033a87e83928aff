#!/usr/bin/env bash
# Sets up a fresh machine: system JPEG library, .venv with the toolkit and its dependencies,
# and admin/local.py from its template. Safe to run again: what is done is left as it is.
#
#   ./install.sh                 # PYTHON=python3.12 ./install.sh to choose the interpreter
set -eEuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.tracking-install-stamp
step="start"

trap 'echo "install.sh: FAILED at step: $step (see the output above)" >&2' ERR

begin() {
    step=$1
    echo "==> $step"
}

begin "system library libturbojpeg0 (fast JPEG decoding through jpeg4py)"
if ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so\.0'; then
    echo "    already installed"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libturbojpeg0 >/dev/null
    echo "    installed"
else
    echo "    not installed and cannot install it (needs root and apt-get): images will load with"
    echo "    OpenCV; 'sudo apt-get install libturbojpeg0' makes JPEG decoding faster"
fi

begin "system header jpeglib.h (libjpeg62-turbo-dev, for the JPEG region decoder)"
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/local/include/jpeglib.h ]; then
    echo "    already installed"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg62-turbo-dev >/dev/null
    echo "    installed"
else
    echo "    not installed and cannot install it (needs root and apt-get): training decodes whole"
    echo "    frames; 'sudo apt-get install libjpeg62-turbo-dev' and ./install.sh make it faster"
fi

begin "Python interpreter ($PYTHON, 3.10 or newer)"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
    || { echo "    $PYTHON is missing or older than 3.10: set PYTHON=..." >&2; false; }

begin "virtual environment $VENV"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    echo "    already there"
else
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when what pip would install changed (pyproject.toml, setup.py), so a second
# run takes seconds.
stamp=$({ cat pyproject.toml setup.py; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)
begin "toolkit and dependencies (pip install -e '.[test]')"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ] \
    && "$VENV/bin/python" -c 'import admin, external, ltr, pytracking, torch, torchvision, cv2' 2>/dev/null; then
    echo "    up to date"
else
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install --quiet --progress-bar off -e '.[test]'
    echo "$stamp" > "$STAMP"
fi

begin "Precise RoI Pooling extension (C++ always; CUDA when torch is a CUDA build and nvcc is found)"
"$VENV/bin/python" -m external.PreciseRoIPooling.build 2>&1 | sed 's/^/    /'

begin "JPEG region decoder (C++, libjpeg)"
"$VENV/bin/python" -m external.jpeg_region.build 2>&1 | sed 's/^/    /'

begin "admin/local.py from admin/local_template.py"
"$VENV/bin/python" -m admin create-local | sed 's/^/    /'

begin "check that the packages import"
"$VENV/bin/python" -c 'import admin.environment, ltr, pytracking, external; import torch, torchvision, cv2; print("    torch", torch.__version__, "| torchvision", torchvision.__version__, "| OpenCV", cv2.__version__, "| CUDA available:", torch.cuda.is_available())'

echo "install.sh: done. Activate with 'source $VENV/bin/activate', or call $VENV/bin/python."
