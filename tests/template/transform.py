"""Expand template.yaml the way CloudFormation's SAM transform will, offline, for one set of
parameters, so xinvoke's rules can also read what SAM generates (roles, permissions, event
source mappings). CodeUri is replaced by a placeholder S3 URI: the transform needs one and
the code is irrelevant here. Usage: transform.py TEMPLATE OUT.json Key=Value...
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The transform asks IAM for managed policy ARNs only for policy names it must resolve;
    this template names none, so no AWS call is needed."""

    def load(self):
        return {}


def main() -> None:
    template_path, out_path, *pairs = sys.argv[1:]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(template_path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for res in template.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = "s3://xinvoke-placeholder/code.zip"
    globals_fn = template.get("Globals", {}).get("Function", {})
    globals_fn.pop("CodeUri", None)
    parameters = dict(pair.split("=", 1) for pair in pairs)
    out = transform(template, parameters, NoManagedPolicies())
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
