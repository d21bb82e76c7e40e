"""Check template.yaml as a service-managed StackSet would instantiate it, offline.

A service-managed StackSet takes no template that references a macro, the AWS::Serverless
transform included (CloudFormation's CreateStackSet, Capabilities: "StackSets with
service-managed permissions don't currently support the use of macros in templates"): what
deploys is the processed template (`sam package` then the SAM transform). This script makes
that template for one side's parameters (tests/template/transform.py's expansion), then checks
what differs in a stack set:
  - no Transform is left;
  - every name built from ${AWS::StackName} fits its service's limit when the stack is named as
    StackSets names a stack instance, StackSet-<stack set name>-<36-character id> (function and
    role names 64 characters, log group names 512);
and writes the processed template for cfn-lint (which check-template.sh then runs with
xinvoke's rules). Usage: stackset.py TEMPLATE OUT.json STACK_SET_NAME Key=Value...
Prints one line per check; exits 1 on any failure.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

LIMITS = {
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
}


def resolve(value, stack_name: str, params: dict) -> str | None:
    """The string a name takes, for a Fn::Sub / Ref of parameters and pseudo parameters."""
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": "ap-southeast-2", "AWS::AccountId": "123456789012",
              "AWS::Partition": "aws-us-gov"}
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo.get(m.group(1), params.get(m.group(1), "X" * 8)),
                      value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::If" in value:
        options = [resolve(v, stack_name, params) for v in value["Fn::If"][1:]]
        options = [o for o in options if o is not None]
        return max(options, key=len) if options else None
    if isinstance(value, dict) and "Ref" in value:
        ref = value["Ref"]
        return pseudo.get(ref, params.get(ref))
    return None


def main() -> int:
    template, out, stack_set_name, *pairs = sys.argv[1:]
    params = dict(p.split("=", 1) for p in pairs)
    here = Path(__file__).parent
    subprocess.run([sys.executable, str(here / "transform.py"), template, out, *pairs], check=True)
    processed = json.loads(Path(out).read_text(encoding="utf-8"))
    failed = 0
    if "Transform" in processed:
        print(f"  FAIL a Transform is left ({processed['Transform']}): a service-managed StackSet refuses it")
        failed += 1
    else:
        print("  ok  no Transform left: the processed template is what the StackSet deploys")
    stack_name = f"StackSet-{stack_set_name}-{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}"
    for name, res in processed.get("Resources", {}).items():
        for (rtype, prop), limit in LIMITS.items():
            if res.get("Type") != rtype or prop not in res.get("Properties", {}):
                continue
            value = resolve(res["Properties"][prop], stack_name, params)
            if value is None:
                continue
            if len(value) > limit:
                print(f"  FAIL {name}.{prop} would be {value!r}, {len(value)} characters, over {limit}: "
                      f"name the stack set at most {len(stack_set_name) - (len(value) - limit)} characters")
                failed += 1
            else:
                print(f"  ok  {name}.{prop}: {len(value)} of {limit} characters as {value!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
