#!/usr/bin/env bash
# Refresh the vendored Lambda service model (tests/model/lambda-2015-03-31.service-2.json)
# from botocore, the version the test venv's pinned boto3 brings (scripts/requirements-test.txt),
# and record that version beside it. tests/it/invoke_wire.rs compares the one error table
# (src/core/errors.rs) with this file: after a refresh, a difference fails there, naming it.
#
#   scripts/refresh-lambda-model.sh            # uses ${XINVOKE_VENV:-.venv}, made if missing
#   XINVOKE_VENV=/path/to/venv scripts/refresh-lambda-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${XINVOKE_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r scripts/requirements-test.txt
"$venv/bin/python" - <<'PY'
import gzip, json, os, botocore
root = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda", "2015-03-31")
for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
    path = os.path.join(root, name)
    if os.path.exists(path):
        with opener(path, "rt", encoding="utf-8") as f:
            model = json.load(f)
        break
else:
    raise SystemExit(f"no Lambda service model under {root}")
with open("tests/model/lambda-2015-03-31.service-2.json", "w", encoding="utf-8") as f:
    json.dump(model, f, indent=1, sort_keys=True)
    f.write("\n")
with open("tests/model/VERSION", "w", encoding="utf-8") as f:
    f.write(f"botocore {botocore.__version__} data/lambda/2015-03-31/service-2.json\n")
print(f"tests/model: Lambda model of botocore {botocore.__version__}, "
      f"{len(model['operations']['Invoke']['errors'])} Invoke errors")
PY
