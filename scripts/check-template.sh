#!/usr/bin/env bash
# Checks template.yaml on a fresh machine: it makes a venv with pinned tools, then runs
#   1. cfn-lint (with xinvoke's own rules in rules/): zero findings;
#   2. sam validate --lint: clean;
#   3. the rules' fixtures: every tests/template/bad-*.yaml fails with exactly the rule its
#      "# expect: RULE text" header names and a message containing the text;
#   4. StackSets: each side's SAM-processed template (what a service-managed StackSet deploys:
#      it takes no transform), its StackSet-made names checked against their limits and linted
#      with the rules (tests/template/stackset.py);
#   5. sam build (rust-cargolambda, x86_64) for Side=source and Side=target into temp dirs,
#      checking each function's bootstrap is an x86-64 ELF without the CLI's profile kinds
#      (cargo-lambda builds without default features, as Cargo.toml's metadata says), and that
#      the release build answers a handler panic as a function error
#      (tests/template/panic_check.py). By default the build
#      keeps the release profile's panic strategy but not its optimization (opt-level 0, no LTO):
#      what this checks does not depend on it, and it saves ~3 minutes of a 2-core machine.
#      XINVOKE_SAM_PRODUCTION_PROFILE=1 builds exactly what deploys (and prints its zipped size);
#      XINVOKE_SKIP_SAM_BUILD=1 skips the build for quick local runs.
# Needs Python 3 with venv and a Rust toolchain; no AWS account or network access to AWS.
# Ends with "template checks: N passed, N failed" and exits non-zero on any failure.
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file mid-run is safe.
main() {
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)

# The tools live in their own venv inside the test venv (.venv/template-tools by default):
# aws-sam-cli pins its own boto3, which conflicts with the boto3 scripts/test.sh pins.
venv="${XINVOKE_VENV:-$root/.venv}/template-tools"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
failures=()
times=()
step() { printf '\n==> %s\n' "$*"; step_started=$(date +%s); }
record() { # name, exit code
  local took=$(( $(date +%s) - step_started ))
  times+=("$1: ${took}s")
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

step "Python tools (venv at $venv)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-template.txt
export PATH="$venv/bin:$PATH" # sam runs `cargo lambda`, which cargo finds on PATH
export SAM_CLI_TELEMETRY=0
echo "cfn-lint $(cfn-lint --version | awk '{print $2}'), $(sam --version), $(cargo lambda --version 2>/dev/null | head -1)"
times+=("tools: $(( $(date +%s) - step_started ))s")

step "cfn-lint template.yaml (with rules/)"
rc=0; cfn-lint --append-rules rules/ -- template.yaml || rc=$?
record "cfn-lint" $rc

step "sam validate --lint"
rc=0; sam validate --lint --template-file template.yaml || rc=$?
record "sam validate" $rc

step "rules: each tests/template/bad-*.yaml fails with its expected rule; template.yaml passes (also after the SAM transform)"
rc=0; fixtures_passed=0; fixtures_failed=0
check_fixture() { # file -> 0 when it fails exactly as its header says
  local file="$1" header expected text out status ids
  header="$(sed -n 's/^# expect: //p' "$file" | head -1)"
  expected="${header%% *}"
  text="${header#* }"
  if [ -z "$expected" ] || [ "$text" = "$header" ]; then
    echo "  $file: no '# expect: RULE message text' header"; return 1
  fi
  status=0; out="$(cfn-lint --append-rules rules/ --format parseable -- "$file" 2>&1)" || status=$?
  ids="$(printf '%s\n' "$out" | awk -F: 'NF >= 7 {print $6}' | sort -u | tr '\n' ' ')"
  if [ "$status" -eq 0 ]; then
    echo "  $file: passed cfn-lint, expected $expected"; return 1
  fi
  if [ "$ids" != "$expected " ]; then
    echo "  $file: expected only $expected, got: ${ids:-no findings}"; printf '%s\n' "$out" | sed 's/^/    /'; return 1
  fi
  if ! printf '%s\n' "$out" | grep -qF -- "$text"; then
    echo "  $file: $expected does not say \"$text\":"; printf '%s\n' "$out" | sed 's/^/    /'; return 1
  fi
  printf '%s\n' "$out" | sed "s|^$file:[0-9:]*|  ok  $(basename "$file"): |"
}
shopt -s nullglob
fixtures=(tests/template/bad-*.yaml)
[ ${#fixtures[@]} -gt 0 ] || { echo "  no fixtures in tests/template/"; fixtures_failed=1; }
for f in "${fixtures[@]}"; do
  if check_fixture "$f"; then fixtures_passed=$((fixtures_passed + 1)); else fixtures_failed=$((fixtures_failed + 1)); fi
done
if cfn-lint --append-rules rules/ --format parseable -- template.yaml >/dev/null; then
  echo "  ok  template.yaml: no findings"; fixtures_passed=$((fixtures_passed + 1))
else
  echo "  template.yaml: findings (see the cfn-lint step)"; fixtures_failed=$((fixtures_failed + 1))
fi
# cfn-lint reads SAM resources untransformed; expand them offline (every condition's resources
# stay in the output) and check what SAM generates too: roles, permissions, event sources.
if "$venv/bin/python" tests/template/transform.py template.yaml "$work/transformed.json" Side=target \
  && cfn-lint --append-rules rules/ --format parseable -- "$work/transformed.json"; then
  echo "  ok  template.yaml after the SAM transform: no findings"; fixtures_passed=$((fixtures_passed + 1))
else
  echo "  template.yaml after the SAM transform: findings above"; fixtures_failed=$((fixtures_failed + 1))
fi
echo "rule fixtures: $fixtures_passed passed, $fixtures_failed failed"
[ "$fixtures_failed" -eq 0 ] || rc=1
record "rule fixtures" $rc

step "StackSets: the processed template, as a service-managed StackSet deploys it to every account of an OU"
# A service-managed StackSet takes no transform: it deploys the SAM-processed template. Each
# side is expanded with organization-form parameters, its StackSet-made names checked against
# their limits (tests/template/stackset.py), and the result linted with xinvoke's rules.
rc=0
stackset_source=(Side=source AuthMode=role ExternalId=stackset-check-id
  InvokeRoleArn=arn:aws:iam::222222222222:role/xinvoke-invoke
  TargetArn=arn:aws:lambda:us-east-1:222222222222:function:xinvoke-target:live)
stackset_target=(Side=target AuthMode=role ExternalId=stackset-check-id PrincipalOrgId=o-a1b2c3d4e5
  "PrincipalOrgPaths=o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*")
for side in source target; do
  declare -n params="stackset_$side"
  echo "  Side=$side:"
  "$venv/bin/python" tests/template/stackset.py template.yaml "$work/stackset-$side.json" xinvoke "${params[@]}" || rc=1
  if cfn-lint --append-rules rules/ --format parseable -- "$work/stackset-$side.json"; then
    echo "  ok  cfn-lint of the processed template: no findings"
  else
    echo "  FAIL cfn-lint of the processed template: findings above"; rc=1
  fi
done
record "stackset" $rc

elf_machine() { # file -> x86_64 | aarch64 | other
  "$venv/bin/python" - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(20)
ok = head[:4] == b"\x7fELF"
machine = struct.unpack_from("<H", head, 18)[0] if ok else None
print({62: "x86_64", 183: "aarch64"}.get(machine, "other"))
EOF
}

if [ "${XINVOKE_SAM_PRODUCTION_PROFILE:-0}" = "1" ]; then
  profile="release profile as deployed"
else
  profile="release profile, opt-level 0 and no LTO for speed (XINVOKE_SAM_PRODUCTION_PROFILE=1: as deployed)"
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256
  # Cargo.toml's per-package overrides ([profile.release.package.aws-sdk-lambda] opt-level "z",
  # ...) outrank CARGO_PROFILE_RELEASE_OPT_LEVEL, and cargo reads no environment variable for
  # them; sam gives `cargo lambda build` no flags to pass `--config`. A cargo home of our own
  # (its config.toml lowering each override to 0, its registry the usual one) is the one way
  # in: it halves the build's CPU time, since the SDK crates are most of it.
  cargo_home="$work/cargo-home"
  mkdir -p "$cargo_home"
  real_home="${CARGO_HOME:-$HOME/.cargo}"
  for d in registry git bin; do [ -e "$real_home/$d" ] && ln -s "$real_home/$d" "$cargo_home/$d"; done
  sed -n 's/^\[profile\.release\.package\.\([^]]*\)\]$/[profile.release.package.\1]\nopt-level = 0/p' Cargo.toml \
    >"$cargo_home/config.toml"
  [ -f "$real_home/config.toml" ] && cat "$real_home/config.toml" >>"$cargo_home/config.toml"
  export CARGO_HOME="$cargo_home"
fi
for side in source target; do
  step "sam build Side=$side Architecture=x86_64 (rust-cargolambda, $profile)"
  if [ "${XINVOKE_SKIP_SAM_BUILD:-0}" = "1" ]; then
    echo "SKIPPED (XINVOKE_SKIP_SAM_BUILD=1)"; times+=("sam build $side: skipped"); continue
  fi
  rc=0
  sam build --template-file template.yaml --build-dir "$work/build-$side" \
    --parameter-overrides "Side=$side" "Architecture=x86_64" || rc=$?
  if [ $rc -eq 0 ]; then
    for fn in InvokerFunction TargetFunction; do
      bin="$work/build-$side/$fn/bootstrap"
      if [ ! -x "$bin" ]; then
        echo "  $fn: no bootstrap in the build"; rc=1
      elif [ "$(elf_machine "$bin")" != "x86_64" ]; then
        echo "  $fn: bootstrap is not an x86-64 ELF"; rc=1
      elif grep -q "federation/credentials" "$bin"; then
        # The IAM Identity Center client (GetRoleCredentials' path): the CLI's default feature
        # aws-profiles, which [package.metadata.lambda] leaves out of the Lambda builds.
        echo "  $fn: bootstrap carries the CLI's profile kinds (aws-profiles): Cargo.toml's [package.metadata.lambda.bin.*.build] no_default_features was not applied"; rc=1
      else
        size=""
        if [ "${XINVOKE_SAM_PRODUCTION_PROFILE:-0}" = "1" ]; then
          zipped=$("$venv/bin/python" -c 'import io,sys,zipfile; b=io.BytesIO(); z=zipfile.ZipFile(b,"w",zipfile.ZIP_DEFLATED); z.write(sys.argv[1],"bootstrap"); z.close(); print(len(b.getvalue())//1024)' "$bin")
          size=", $(( $(wc -c <"$bin") / 1024 )) KiB, ${zipped} KiB zipped"
        fi
        echo "  ok  $fn/bootstrap: x86-64 ELF$size"
      fi
    done
    # the release build unwinds: a panic is answered, the runtime lives on
    if [ $rc -eq 0 ] && [ "$side" = target ]; then
      "$venv/bin/python" tests/template/panic_check.py "$work/build-$side/TargetFunction/bootstrap" || rc=1
    fi
  fi
  record "sam build $side" $rc
done

elapsed=$(( $(date +%s) - started ))
echo
echo "==> summary (${elapsed}s)"
for t in "${times[@]}"; do echo "  $t"; done
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "FAILED: $f"; done
echo "template checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
}

main "$@"
