"""xinvoke's template rules, loaded by cfn-lint with `--append-rules rules/`.

They guard what makes the cross-account path safe and that cfn-lint's own rules do not check:
- E9101: no invoke (lambda:InvokeFunction) or assume (sts:AssumeRole) permission on every
  resource (`Resource: "*"`, `"*"` in a list, an ARN whose name is only a wildcard, or
  `NotResource`);
- E9102: a role that an AWS principal (another account's role) may assume requires the
  `sts:ExternalId` condition (the confused-deputy guard), and a trust in every principal
  (`"*"`) requires `aws:PrincipalOrgID` too (an organization grant, not the whole world);
- E9103: nothing gives the VPC an internet path or a public IP (internet or egress-only
  gateways, NAT gateways, routes to 0.0.0.0/0 or ::/0, `MapPublicIpOnLaunch: true`,
  Elastic IPs);
- E9104: no security group admits inbound traffic (the target is invoked through Lambda,
  never over the network);
- E9105: a Lambda invoke permission names one role, not '*' or a whole account ('*' only with
  `PrincipalOrgID`: an organization grant);
- E9106: an invoke grant names a qualified function (the alias or version the caller invokes),
  not every qualifier (`ARN:*`) nor the unqualified ARN of a function of the template, which
  opens `$LATEST` and every version;
- E9107: an SQS-triggered function's settings fit together: an attempt (and the deadline
  margin) fits in its Timeout, a batch can finish in it, and the queue's VisibilityTimeout is at
  least six times the Timeout plus MaximumBatchingWindowInSeconds (the Lambda guide's advice for
  SQS event sources), so a slow target never makes SQS redeliver records that succeeded;
- E9108: a Function URL (AWS::Lambda::Url, or a serverless function's FunctionUrlConfig) has
  AuthType AWS_IAM, written out in every branch: never NONE (public), nor a value the rule
  cannot read;
- E9109: a function's environment variables, at their longest (a parameter's MaxLength or
  longest AllowedValue, the longer `Fn::If` branch, SAM's Globals included), fit in Lambda's
  4 KB for all of a function's variables together, so a long value fails the build instead of
  the deploy;
- E9110: no resource names an ARN with a literal partition (`arn:aws:...`): the template deploys
  to `aws-cn` and `aws-us-gov` too, where such an ARN names nothing; build it with
  `${AWS::Partition}`.

cfn-lint 1.x validates SAM templates without running the SAM transform, so E9101 also reads
SAM's own shapes: policy documents and the LambdaInvokePolicy template under a serverless
function's `Policies`, and AWS managed policies known to grant invoke or assume on every
resource. Conditional branches (`Fn::If`) are all checked: a branch that may deploy must be
safe.
"""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any, Iterator

from cfnlint.rules import CloudFormationLintRule, RuleMatch

Path = list[Any]

GUARDED_ACTIONS = ("lambda:invokefunction", "sts:assumerole")
SERVERLESS_TYPES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
# AWS managed policies that allow lambda:InvokeFunction or sts:AssumeRole on "*".
BROAD_MANAGED_POLICIES = {
    "awslambdarole": "lambda:InvokeFunction",
    "awslambda_fullaccess": "lambda:InvokeFunction",
    "awslambdafullaccess": "lambda:InvokeFunction",
    "poweruseraccess": "lambda:InvokeFunction and sts:AssumeRole",
    "administratoraccess": "lambda:InvokeFunction and sts:AssumeRole",
}
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")


def _walk(node: Any, path: Path) -> Iterator[tuple[Any, Path]]:
    """Every node under `node` with its path; `Fn::If` branches are plain list items."""
    yield node, path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + [k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + [i])


PLACEHOLDER = "${X}"


def _strings(node: Any) -> Iterator[str]:
    """The strings a value may take: through lists, `Fn::If` branches, `Fn::Sub` templates and
    `Fn::Join`s. A `Ref`, `Fn::GetAtt` or other function inside a `Fn::Join` becomes the
    placeholder `${X}`, as a `Fn::Sub` variable stays `${...}`, so the literal parts around it
    are still checked; a `Ref` or `Fn::GetAtt` alone yields nothing."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            yield from _strings(arg[1])
            yield from _strings(arg[2])
        elif fn == "Fn::Sub":
            if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
                text = arg[0]
                for var, value in arg[1].items():  # literal variables, e.g. SAM policy templates
                    if isinstance(value, str):
                        text = text.replace("${" + var + "}", value)
                yield text
            else:
                yield from _strings(arg)
        elif fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            sep, parts = arg
            if isinstance(sep, str) and isinstance(parts, list):
                options = [list(_strings(p)) if isinstance(p, (str, list)) or (isinstance(p, dict) and "Fn::If" in p) else [PLACEHOLDER]
                           for p in parts]
                options = [o or [PLACEHOLDER] for o in options]
                for choice in _product(options):
                    yield sep.join(choice)


def _product(options: list[list[str]]) -> Iterator[list[str]]:
    if not options:
        yield []
        return
    for first in options[0]:
        for rest in _product(options[1:]):
            yield [first] + rest


def _literal(text: str) -> str:
    """A string with every `${...}` (a Sub variable, a pseudo parameter) made one opaque token,
    so `arn:${AWS::Partition}:...` splits on its own colons only."""
    return re.sub(r"\$\{[^}]*\}", "X", text)


def _statements(document: Any, path: Path) -> Iterator[tuple[dict, Path]]:
    """Every statement-shaped object in a policy document, in every `Fn::If` branch."""
    for node, p in _walk(document, path):
        if isinstance(node, dict) and "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node, p


def _allows(statement: dict, action: str) -> bool:
    """Whether an Allow statement grants `action` (lower case), wildcards included."""
    if "Allow" not in set(_strings(statement.get("Effect"))):
        return False
    if "Action" in statement:
        return any(fnmatch.fnmatchcase(action, a.lower()) for a in _strings(statement["Action"]))
    return not any(fnmatch.fnmatchcase(action, a.lower()) for a in _strings(statement["NotAction"]))


def _is_every_resource(resource: str) -> bool:
    """`*`, or an ARN whose resource name is only wildcards (`...:function:*`, `role/*`), however
    the ARN is built (`!Sub "arn:${AWS::Partition}:lambda:...:function:*"`, a `!Join`)."""
    resource = _literal(resource)
    if resource.strip() == "*":
        return True
    if not resource.startswith("arn:"):
        return False
    tail = resource.split(":", 5)[-1]
    name = tail.split("/", 1)[-1] if "/" in tail else tail.split(":", 1)[-1]
    return name != "" and set(name) <= {"*"}


def _policy_documents(cfn) -> Iterator[tuple[str, Any, Path]]:
    """(resource name, identity policy document, path) of every role and policy resource."""
    for name, res in cfn.get_resources(["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"]).items():
        props = res.get("Properties") or {}
        for i, pol in enumerate(props.get("Policies") or []):
            for node, p in _walk(pol, ["Resources", name, "Properties", "Policies", i]):
                if isinstance(node, dict) and "PolicyDocument" in node:
                    yield name, node["PolicyDocument"], p + ["PolicyDocument"]
    for name, res in cfn.get_resources(list(POLICY_TYPES)).items():
        props = res.get("Properties") or {}
        if "PolicyDocument" in props:
            yield name, props["PolicyDocument"], ["Resources", name, "Properties", "PolicyDocument"]
    for name, res in cfn.get_resources(list(SERVERLESS_TYPES)).items():
        policies = (res.get("Properties") or {}).get("Policies")
        for node, p in _walk(policies, ["Resources", name, "Properties", "Policies"]):
            if isinstance(node, dict) and "Statement" in node:
                yield name, node, p


def _managed_policy_names(cfn) -> Iterator[tuple[str, str, Path]]:
    """(resource name, managed policy name, path) for roles and serverless functions."""
    for name, res in cfn.get_resources(["AWS::IAM::Role", *SERVERLESS_TYPES]).items():
        props = res.get("Properties") or {}
        key = "ManagedPolicyArns" if res["Type"] == "AWS::IAM::Role" else "Policies"
        for node, p in _walk(props.get(key), ["Resources", name, "Properties", key]):
            for text in ([node] if isinstance(node, str) else []) + (
                list(_strings(node)) if isinstance(node, dict) and "Fn::Sub" in node else []
            ):
                yield name, text.rsplit("/", 1)[-1].lower(), p


def _lambda_invoke_templates(cfn) -> Iterator[tuple[str, Any, Path]]:
    """(function, FunctionName value, path) of SAM's LambdaInvokePolicy policy templates."""
    for name, res in cfn.get_resources(list(SERVERLESS_TYPES)).items():
        policies = (res.get("Properties") or {}).get("Policies")
        for node, p in _walk(policies, ["Resources", name, "Properties", "Policies"]):
            if isinstance(node, dict) and isinstance(node.get("LambdaInvokePolicy"), dict):
                yield name, node["LambdaInvokePolicy"].get("FunctionName"), p + ["LambdaInvokePolicy"]


class WildcardInvokeOrAssume(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "No lambda:InvokeFunction or sts:AssumeRole on every resource"
    description = (
        "An identity policy that allows lambda:InvokeFunction or sts:AssumeRole must name the "
        "target function ARN or the role ARN, never Resource '*' (least privilege, "
        "docs lambda-invoke.md section 6)."
    )
    tags = ["xinvoke", "iam", "least-privilege"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, document, path in _policy_documents(cfn):
            for statement, spath in _statements(document, path):
                granted = [a for a in GUARDED_ACTIONS if _allows(statement, a)]
                if not granted:
                    continue
                actions = " and ".join(("lambda:InvokeFunction", "sts:AssumeRole")[GUARDED_ACTIONS.index(a)] for a in granted)
                if "NotResource" in statement:
                    matches.append(RuleMatch(spath + ["NotResource"], (
                        f"{name} allows {actions} with NotResource, i.e. on almost every resource: "
                        "name the target function ARN / invoke role ARN in Resource instead")))
                    continue
                broad = [r for r in _strings(statement.get("Resource")) if _is_every_resource(r)]
                if broad:
                    matches.append(RuleMatch(spath + ["Resource"], (
                        f"{name} allows {actions} on Resource {broad[0]!r}: name the target "
                        "function ARN (and ARN:*) / the invoke role ARN, never a wildcard")))
        for name, policy, path in _managed_policy_names(cfn):
            if policy in BROAD_MANAGED_POLICIES:
                matches.append(RuleMatch(path, (
                    f"{name} attaches the managed policy {policy!r}, which allows "
                    f"{BROAD_MANAGED_POLICIES[policy]} on Resource '*': write a policy naming "
                    "the target function ARN / the invoke role ARN instead")))
        for name, function_name, path in _lambda_invoke_templates(cfn):
            # SAM expands it to arn:...:function:${FunctionName}* (a prefix match).
            names = list(_strings(function_name))
            if any(set(n) <= {"*"} for n in names):
                matches.append(RuleMatch(path, (
                    f"{name} allows lambda:InvokeFunction on Resource "
                    f"'arn:...:function:{names[0]}*' (LambdaInvokePolicy with FunctionName "
                    f"{names[0]!r}, every function): name the target function")))
        return matches


class TrustWithoutExternalId(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "A role assumable by an AWS principal requires sts:ExternalId"
    description = (
        "A trust policy statement that lets an AWS principal (a role or account, e.g. the "
        "invoker's role in account 1) call sts:AssumeRole must carry Condition StringEquals "
        "sts:ExternalId, the confused-deputy guard."
    )
    tags = ["xinvoke", "iam", "cross-account"]

    @staticmethod
    def _aws_principal(statement: dict) -> bool:
        principal = statement.get("Principal")
        if principal == "*" or "NotPrincipal" in statement:
            return True
        return isinstance(principal, dict) and "AWS" in principal

    @staticmethod
    def _everyone(statement: dict) -> bool:
        principal = statement.get("Principal")
        if principal == "*" or "NotPrincipal" in statement:
            return True
        return isinstance(principal, dict) and "*" in set(_strings(principal.get("AWS")))

    @staticmethod
    def _requires(statement: dict, key: str) -> bool:
        """Whether the statement's Condition has StringEquals on `key` (lower case)."""
        condition = statement.get("Condition")
        if not isinstance(condition, dict):
            return False
        for operator, block in condition.items():
            if operator == "StringEquals" and isinstance(block, dict):
                if any(k.lower() == key for k in block):
                    return True
        return False

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, res in cfn.get_resources(["AWS::IAM::Role"]).items():
            document = (res.get("Properties") or {}).get("AssumeRolePolicyDocument")
            path = ["Resources", name, "Properties", "AssumeRolePolicyDocument"]
            for statement, spath in _statements(document, path):
                if not _allows(statement, "sts:assumerole") or not self._aws_principal(statement):
                    continue
                if not self._requires(statement, "sts:externalid"):
                    matches.append(RuleMatch(spath, (
                        f"{name}'s trust policy lets an AWS principal assume it without "
                        "Condition StringEquals sts:ExternalId: add the external id condition "
                        "(confused-deputy guard)")))
                elif self._everyone(statement) and not self._requires(statement, "aws:principalorgid"):
                    matches.append(RuleMatch(spath, (
                        f"{name}'s trust policy lets every AWS principal ('*') assume it: add "
                        "Condition StringEquals aws:PrincipalOrgID (an organization grant), or name "
                        "the source role")))
        return matches


class InternetPath(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "No internet gateway, NAT, default route or public IP"
    description = (
        "The target runs on private subnets: no internet or egress-only gateway, no NAT "
        "gateway, no route to 0.0.0.0/0 or ::/0, no MapPublicIpOnLaunch, no Elastic IP. "
        "Invoking it needs no network path into the VPC."
    )
    tags = ["xinvoke", "vpc", "network"]

    FORBIDDEN = {
        "AWS::EC2::InternetGateway": "an internet gateway",
        "AWS::EC2::EgressOnlyInternetGateway": "an egress-only internet gateway",
        "AWS::EC2::NatGateway": "a NAT gateway",
        "AWS::EC2::EIP": "an Elastic IP (public address)",
        "AWS::EC2::CarrierGateway": "a carrier gateway",
    }

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, res in cfn.get_resources(list(self.FORBIDDEN)).items():
            what = self.FORBIDDEN[res["Type"]]
            matches.append(RuleMatch(["Resources", name], (
                f"{name} is {what}: the target's VPC must have no internet path "
                "(private subnets only; add VPC endpoints for outbound AWS calls)")))
        for name, res in cfn.get_resources(["AWS::EC2::Route"]).items():
            props = res.get("Properties") or {}
            for key, everywhere in (("DestinationCidrBlock", "0.0.0.0/0"), ("DestinationIpv6CidrBlock", "::/0")):
                if everywhere in set(_strings(props.get(key))):
                    matches.append(RuleMatch(["Resources", name, "Properties", key], (
                        f"{name} routes {everywhere} (an internet route): the target's subnets "
                        "keep only the local route")))
        for name, res in cfn.get_resources(["AWS::EC2::Subnet"]).items():
            props = res.get("Properties") or {}
            value = props.get("MapPublicIpOnLaunch")
            if value is True or any(s.lower() == "true" for s in _strings(value)) or (
                isinstance(value, dict) and "Fn::If" in value and True in value["Fn::If"][1:]
            ):
                matches.append(RuleMatch(["Resources", name, "Properties", "MapPublicIpOnLaunch"], (
                    f"{name} has MapPublicIpOnLaunch: true (public IPs): the target's subnets "
                    "must be private")))
        return matches


class InboundRule(CloudFormationLintRule):
    id = "E9104"
    shortdesc = "No inbound security group rule"
    description = (
        "Lambda invokes the target through its own service path, never through the security "
        "group: the target's security group has no inbound rule."
    )
    tags = ["xinvoke", "vpc", "network"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, res in cfn.get_resources(["AWS::EC2::SecurityGroup"]).items():
            ingress = (res.get("Properties") or {}).get("SecurityGroupIngress")
            if ingress:
                matches.append(RuleMatch(["Resources", name, "Properties", "SecurityGroupIngress"], (
                    f"{name} has an inbound rule: the target's security group admits nothing "
                    "(Lambda invokes do not pass through it)")))
        for name in cfn.get_resources(["AWS::EC2::SecurityGroupIngress"]):
            matches.append(RuleMatch(["Resources", name], (
                f"{name} is an inbound security group rule: the target's security group "
                "admits nothing")))
        return matches


class BroadInvokePermission(CloudFormationLintRule):
    id = "E9105"
    shortdesc = "A Lambda invoke permission names one role, not everyone or a whole account"
    description = (
        "An AWS::Lambda::Permission for lambda:InvokeFunction names the caller's role ARN: "
        "not '*' (anyone) and not an account (every principal there with an identity policy). "
        "Service principals (events.amazonaws.com, ...) are fine."
    )
    tags = ["xinvoke", "lambda", "cross-account"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, res in cfn.get_resources(["AWS::Lambda::Permission"]).items():
            props = res.get("Properties") or {}
            if not any(fnmatch.fnmatchcase("lambda:invokefunction", a.lower()) for a in _strings(props.get("Action"))):
                continue
            org = props.get("PrincipalOrgID")
            for principal in _strings(props.get("Principal")):
                if principal.strip() == "*" and _always_set(org):
                    continue  # an organization grant: aws:PrincipalOrgID narrows '*'
                if principal.strip() == "*":
                    problem = "'*' (anyone)"
                elif principal.isdigit() or (principal.startswith("arn:") and principal.endswith(":root")):
                    problem = f"the whole account {principal!r}"
                else:
                    continue
                matches.append(RuleMatch(["Resources", name, "Properties", "Principal"], (
                    f"{name} lets {problem} invoke the function: name the invoker's role ARN "
                    "(the source stack's InvokerRoleArn output)")))
        return matches


def _always_set(value: Any) -> bool:
    """Whether a property is given in every branch: not absent, not empty, and no `Fn::If`
    branch `AWS::NoValue` (a `Ref` to a parameter counts as given: the template's Rules keep
    an empty one out)."""
    if value is None or value == "":
        return False
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return arg != "AWS::NoValue"
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return _always_set(arg[1]) and _always_set(arg[2])
    return True


LAMBDA_FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")


class UnqualifiedInvokeGrant(CloudFormationLintRule):
    id = "E9106"
    shortdesc = "An invoke grant names the alias or version invoked, not every qualifier"
    description = (
        "An identity policy that allows lambda:InvokeFunction on a function of this template "
        "names its alias (or version) ARN: not ARN:* (every alias and version) and not the "
        "unqualified ARN (which is $LATEST), so the caller reaches exactly what it invokes."
    )
    tags = ["xinvoke", "iam", "least-privilege"]

    def match(self, cfn) -> list[RuleMatch]:
        functions = set(cfn.get_resources(list(LAMBDA_FUNCTION_TYPES)))
        matches = []
        for name, document, path in _policy_documents(cfn):
            for statement, spath in _statements(document, path):
                if not _allows(statement, "lambda:invokefunction"):
                    continue
                resource = statement.get("Resource")
                items = resource if isinstance(resource, list) else [resource]
                for i, item in enumerate(items):
                    rpath = spath + ["Resource"] + ([i] if isinstance(resource, list) else [])
                    for problem in self._problems(item, functions):
                        matches.append(RuleMatch(rpath, (
                            f"{name} allows lambda:InvokeFunction on {problem}: name the alias "
                            "the caller invokes (e.g. !Ref Function.Alias with AutoPublishAlias)")))
        return matches


    @staticmethod
    def _problems(item: Any, functions: set[str]) -> Iterator[str]:
        """What an item of Resource opens too widely, through `Fn::If` branches."""
        if isinstance(item, dict) and "Fn::If" in item and isinstance(item["Fn::If"], list) and len(item["Fn::If"]) == 3:
            for branch in item["Fn::If"][1:]:
                for b in branch if isinstance(branch, list) else [branch]:
                    yield from UnqualifiedInvokeGrant._problems(b, functions)
            return
        if isinstance(item, dict) and "Fn::GetAtt" in item:
            att = item["Fn::GetAtt"]
            att = att.split(".", 1) if isinstance(att, str) else att
            if isinstance(att, list) and len(att) == 2 and att[0] in functions and att[1] == "Arn":
                yield f"the unqualified ARN of {att[0]} ($LATEST)"
            return
        for text in _strings(item):
            m = re.fullmatch(r"\$\{(\w+)\.Arn\}(:\*)?", text.strip())
            if m and m.group(1) in functions:
                yield (f"every alias and version of {m.group(1)} (ARN:*)" if m.group(2)
                       else f"the unqualified ARN of {m.group(1)} ($LATEST)")
            elif re.search(r":function:[^:*]+:\*$", _literal(text)):
                yield f"every alias and version ({text!r})"


def _number(value: Any) -> float | None:
    """A literal number (or numeric string); None for a Ref, Sub or other function."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class SqsTimeouts(CloudFormationLintRule):
    id = "E9107"
    shortdesc = "An SQS-triggered invoker's Timeout, batch, attempt timeout and queue visibility fit together"
    description = (
        "For a function with an SQS event: XINVOKE_ATTEMPT_TIMEOUT_MS plus "
        "XINVOKE_DEADLINE_MARGIN_MS fits in its Timeout; a batch (BatchSize records, "
        "XINVOKE_SQS_CONCURRENCY at a time) of attempts fits too; and the queue's "
        "VisibilityTimeout is at least 6 x Timeout + MaximumBatchingWindowInSeconds (Lambda "
        "guide, 'Using Lambda with Amazon SQS'). Otherwise a slow target makes the function time "
        "out and SQS redelivers the whole batch, records that succeeded included."
    )
    tags = ["xinvoke", "sqs", "timeouts"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        globals_fn = ((cfn.template.get("Globals") or {}).get("Function") or {})
        queues = cfn.get_resources(["AWS::SQS::Queue"])
        for name, res in cfn.get_resources(["AWS::Serverless::Function"]).items():
            props = res.get("Properties") or {}
            timeout = _number(props.get("Timeout", globals_fn.get("Timeout", 3)))
            env = {**((globals_fn.get("Environment") or {}).get("Variables") or {}),
                   **((props.get("Environment") or {}).get("Variables") or {})}
            attempt_ms = _number(env.get("XINVOKE_ATTEMPT_TIMEOUT_MS", 30000))
            margin_ms = _number(env.get("XINVOKE_DEADLINE_MARGIN_MS", 500))
            concurrency = _number(env.get("XINVOKE_SQS_CONCURRENCY"))
            for ename, event in (props.get("Events") or {}).items():
                if not isinstance(event, dict) or event.get("Type") != "SQS":
                    continue
                epath = ["Resources", name, "Properties", "Events", ename, "Properties"]
                eprops = event.get("Properties") or {}
                batch = _number(eprops.get("BatchSize", 10))
                window = _number(eprops.get("MaximumBatchingWindowInSeconds", 0)) or 0.0
                if None in (timeout, attempt_ms, margin_ms, batch):
                    continue
                budget_ms = timeout * 1000
                if attempt_ms + margin_ms > budget_ms:
                    matches.append(RuleMatch(["Resources", name, "Properties", "Timeout"], (
                        f"{name}: XINVOKE_ATTEMPT_TIMEOUT_MS ({attempt_ms:.0f}) + XINVOKE_DEADLINE_MARGIN_MS "
                        f"({margin_ms:.0f}) exceeds the Timeout ({timeout:.0f} s): raise Timeout or lower "
                        "the attempt timeout, so one attempt can finish in the function's time")))
                rounds = math.ceil(batch / max(1.0, concurrency or batch))
                if attempt_ms + margin_ms <= budget_ms and rounds * attempt_ms + margin_ms > budget_ms:
                    matches.append(RuleMatch(epath + ["BatchSize"], (
                        f"{name}: a batch of {batch:.0f} records, {concurrency or batch:.0f} at a time, needs "
                        f"{rounds} x XINVOKE_ATTEMPT_TIMEOUT_MS ({rounds * attempt_ms / 1000:.0f} s) + the margin, "
                        f"more than the Timeout ({timeout:.0f} s): lower BatchSize, raise "
                        "XINVOKE_SQS_CONCURRENCY or Timeout")))
                queue = eprops.get("Queue")
                qname = None
                if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                    att = queue["Fn::GetAtt"]
                    att = att.split(".", 1) if isinstance(att, str) else att
                    qname = att[0] if isinstance(att, list) and att else None
                qprops = (queues.get(qname) or {}).get("Properties") or {}
                visibility = _number(qprops.get("VisibilityTimeout", 30))
                if qname in queues and visibility is not None and visibility < 6 * timeout + window:
                    matches.append(RuleMatch(["Resources", qname, "Properties", "VisibilityTimeout"], (
                        f"{qname}: VisibilityTimeout {visibility:.0f} s is less than 6 x {name}'s Timeout "
                        f"({timeout:.0f} s) + MaximumBatchingWindowInSeconds ({window:.0f} s) = "
                        f"{6 * timeout + window:.0f} s: raise it, or SQS may hand a batch to a second "
                        "invoker while the first still works on it")))
        return matches


class PublicFunctionUrl(CloudFormationLintRule):
    id = "E9108"
    shortdesc = "A Function URL is AWS_IAM, never public"
    description = (
        "The invoker's Function URL takes only SigV4-signed callers allowed "
        "lambda:InvokeFunctionUrl: AuthType AWS_IAM, written out (in every Fn::If branch). NONE "
        "would let anyone on the internet invoke account 2 through it."
    )
    tags = ["xinvoke", "lambda", "function-url"]

    def match(self, cfn) -> list[RuleMatch]:
        urls: list[tuple[str, Any, Path]] = []
        for name, res in cfn.get_resources(["AWS::Lambda::Url"]).items():
            props = res.get("Properties") or {}
            urls.append((name, props.get("AuthType"), ["Resources", name, "Properties", "AuthType"]))
        for name, res in cfn.get_resources(["AWS::Serverless::Function"]).items():
            config = (res.get("Properties") or {}).get("FunctionUrlConfig")
            for node, p in _walk(config, ["Resources", name, "Properties", "FunctionUrlConfig"]):
                if isinstance(node, dict) and "AuthType" in node:
                    urls.append((name, node["AuthType"], p + ["AuthType"]))
        matches = []
        for name, auth, path in urls:
            values = set(_strings(auth))
            readable = not (isinstance(auth, dict) and "Fn::If" not in auth) and values
            if readable and values == {"AWS_IAM"}:
                continue
            others = ", ".join(sorted(values - {"AWS_IAM"}))
            what = f"AuthType {others} (in some branch)" if readable else "an AuthType the rule cannot read"
            matches.append(RuleMatch(path, (
                f"{name} has a Function URL with {what}: use AuthType AWS_IAM (callers sign with "
                "SigV4 and need lambda:InvokeFunctionUrl); NONE makes it public")))
        return matches


ENVIRONMENT_QUOTA = 4096

# The longest a resource's Ref can be, for the types a variable may name: an SQS queue URL is
# https://sqs.REGION.SUFFIX/ACCOUNT/NAME with a name of at most 80 characters.
RESOURCE_REF_BOUNDS = {"AWS::SQS::Queue": 160}


def _longest(value: Any, params: dict, resources: dict | None = None) -> tuple[int | None, str | None]:
    """The longest a variable's value may be, and None with the reason when it cannot be bound:
    a literal's length; a parameter's MaxLength or longest AllowedValues; the longer branch of an
    `Fn::If`; 0 for `AWS::NoValue`; a `Fn::Sub` whose variables are all bounded."""
    if isinstance(value, bool):
        return len(str(value).lower()), None
    if isinstance(value, (str, int, float)):
        return len(str(value)), None
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return 0, None
            if arg in ("AWS::Region", "AWS::Partition", "AWS::AccountId", "AWS::URLSuffix"):
                return 32, None
            resource = (resources or {}).get(arg)
            if isinstance(resource, dict) and resource.get("Type") in RESOURCE_REF_BOUNDS:
                return RESOURCE_REF_BOUNDS[resource["Type"]], None
            param = params.get(arg)
            if not isinstance(param, dict):
                return None, f"{arg} is neither a parameter nor a resource whose Ref the rule can bound"
            bound = _number(param.get("MaxLength"))
            allowed = param.get("AllowedValues")
            if isinstance(allowed, list) and allowed:
                longest = max(len(str(v)) for v in allowed)
                bound = longest if bound is None else min(bound, longest)
            if bound is None:
                return None, f"parameter {arg} has no MaxLength or AllowedValues"
            return int(bound), None
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            a, why_a = _longest(arg[1], params, resources)
            b, why_b = _longest(arg[2], params, resources)
            if a is None or b is None:
                return None, why_a or why_b
            return max(a, b), None
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else (arg[0] if isinstance(arg, list) and arg else None)
            if not isinstance(text, str):
                return None, "a Fn::Sub the rule cannot read"
            total = len(re.sub(r"\$\{[^}]*\}", "", text))
            for var in re.findall(r"\$\{([^}!]*)\}", text):
                n, why = _longest({"Ref": var}, params, resources)
                if n is None:
                    return None, why
                total += n
            return total, None
    return None, "a value the rule cannot bound (use a literal, or Ref a parameter with MaxLength)"


class EnvironmentSize(CloudFormationLintRule):
    id = "E9109"
    shortdesc = "A function's environment variables fit in Lambda's 4 KB"
    description = (
        "Lambda caps all of a function's environment variables together at 4 KB (Lambda quotas, "
        "'Function environment variables'), and refuses the deploy beyond it. Each variable's "
        "name and its longest value are added up (SAM's Globals included); a value whose length "
        "cannot be bound (a parameter without MaxLength or AllowedValues) is a finding too."
    )
    tags = ["xinvoke", "lambda", "limits"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        params = cfn.template.get("Parameters") or {}
        globals_env = (((cfn.template.get("Globals") or {}).get("Function") or {}).get("Environment") or {})
        for name, res in cfn.get_resources(list(LAMBDA_FUNCTION_TYPES)).items():
            props = res.get("Properties") or {}
            variables = dict((globals_env.get("Variables") or {}) if res["Type"] == "AWS::Serverless::Function" else {})
            variables.update(((props.get("Environment") or {}).get("Variables") or {}))
            path = ["Resources", name, "Properties", "Environment", "Variables"]
            total = 0
            for key, value in variables.items():
                n, why = _longest(value, params, cfn.template.get("Resources") or {})
                if n is None:
                    matches.append(RuleMatch(path + [key], (
                        f"{name}: the length of {key} cannot be bound ({why}), so its variables "
                        f"may pass Lambda's 4 KB: give the parameter a MaxLength")))
                    continue
                total += len(key) + n
            if total > ENVIRONMENT_QUOTA:
                matches.append(RuleMatch(path, (
                    f"{name}: its environment variables may take {total} bytes, more than Lambda's "
                    f"4 KB ({ENVIRONMENT_QUOTA}) for all of them together: lower the parameters' "
                    "MaxLength, or move large values (routes) to a file of the package or an SSM "
                    "parameter")))
        return matches


class LiteralPartition(CloudFormationLintRule):
    id = "E9110"
    shortdesc = "ARNs in resources use ${AWS::Partition}, not a literal partition"
    description = (
        "An ARN written as arn:aws:... in a resource's properties names nothing in aws-cn or "
        "aws-us-gov (China's and GovCloud's ARNs start arn:aws-cn: and arn:aws-us-gov:): build it "
        "with !Sub arn:${AWS::Partition}:... so the template deploys in every partition."
    )
    tags = ["xinvoke", "partition"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, res in (cfn.template.get("Resources") or {}).items():
            props = res.get("Properties") if isinstance(res, dict) else None
            for node, path in _walk(props, ["Resources", name, "Properties"]):
                if not isinstance(node, (str, dict)):
                    continue
                texts = [node] if isinstance(node, str) else (list(_strings(node)) if "Fn::Sub" in node else [])
                for text in texts:
                    found = re.search(r"arn:(aws[a-z-]*):", text)
                    if found:
                        matches.append(RuleMatch(path, (
                            f"{name} names an ARN with the literal partition {found.group(1)!r} "
                            f"({text[:80]!r}): write arn:${{AWS::Partition}}:... so it deploys in "
                            "aws-cn and aws-us-gov too")))
                        break
        return matches
