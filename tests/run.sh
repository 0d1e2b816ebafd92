#!/usr/bin/env bash
# The one test command of the project.
#
#   ./tests/run.sh            every step below
#   ./tests/run.sh rust       steps 1-3: Python venv, moto, the Rust tests
#   ./tests/run.sh e2e [ARGS] steps 1, 2, 4: Python venv and node charger, moto, the end-to-end suite
#                             (ARGS go to pytest, e.g. -k malformed)
#
# Steps:
#   1. Python venv in .venv with tests/requirements.txt (skipped when unchanged);
#      for the e2e suite also `npm ci` in tests/node-charger, the second,
#      independent charger (skipped when package-lock.json is unchanged), and for
#      the portal's browser tests Debian's chromium (apt-get when /usr/bin/chromium
#      is missing) and axe-core (`npm ci` in tests/portal)
#   2. a moto server on a free local port, for the AWS adapters (stopped on exit)
#   3. Rust tests: cargo nextest (or cargo test) over the whole workspace
#   4. end-to-end: build csms-local (with the test build's features), run tests/e2e with simulated OCPP chargers
#      (and the portal in Chromium; screenshots in $CARGO_TARGET_DIR/test-logs/portal)
#   5. API fuzz: schemathesis over /api/v1/openapi.json of a fresh csms-local
#      (no 5xx, every answer as documented)
#   6. cfn-lint template.yaml
#   7. node --test infra/cloudfront (the CloudFront function), when present
#   8. figures: DynamoDB requests per OCPP message (against moto)
#   9. figures: the pricing benchmark, a quick run (5,000 sessions, debug build;
#      the full run is `cargo run --release -p csms-domain --example price-bench`)
#  10. figures: the load-balancing benchmark (1,000 EVSEs, debug build; the
#      release run is `cargo run --release -p csms-energy --example allocate-bench`),
#      and the BRF day (example simulate-day): immediate against scheduled, and
#      what each start-up rule costs in energy and in fuse
#
# Needs Rust (cargo), python3 (3.10+) and, for step 6, node. Nothing else: no Docker, no cloud.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

mode="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$mode" in
  all | rust | e2e) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "unknown mode '$mode'" >&2; usage >&2; exit 2 ;;
esac
if [[ $# -gt 0 && "$mode" != e2e ]]; then
  echo "extra arguments are only taken by './tests/run.sh e2e' (they go to pytest)" >&2
  exit 2
fi

VENV=.venv
PY="$VENV/bin/python"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
LOG_DIR="$TARGET_DIR/test-logs"
mkdir -p "$LOG_DIR"

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
if [[ -n "${CI:-}" ]]; then
  export CARGO_TERM_COLOR=never
  # A fresh clone in CI gains nothing from incremental caches (about 1 GB of target/).
  export CARGO_INCREMENTAL=0
fi

passed=0
current=""
step() { # step "description": announce the next step
  current="$1"
  echo
  echo "==> $current"
}
done_step() {
  passed=$((passed + 1))
  current=""
}

# Background processes we start each get their own process group (setsid), so the
# exit trap can stop them with everything they spawned.
bg_pids=()
start_bg() { # start_bg LOGFILE COMMAND...
  local log="$1"
  shift
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" >"$log" 2>&1 </dev/null &
  else
    "$@" >"$log" 2>&1 </dev/null &
  fi
  bg_pids+=("$!")
}
on_exit() {
  local code=$?
  for pid in "${bg_pids[@]+"${bg_pids[@]}"}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${bg_pids[@]+"${bg_pids[@]}"}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $code -ne 0 ]]; then
    echo
    echo "==> FAILED${current:+ at step: $current} (exit code $code); $passed step(s) had passed"
  fi
}
trap on_exit EXIT

# ---------------------------------------------------------------------------- 1. Python venv
step "python venv ($VENV) with tests/requirements.txt"
if [[ ! -x "$PY" ]]; then
  python3 -m venv "$VENV"
fi
req_hash="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' tests/requirements.txt)"
stamp="$VENV/.req-$req_hash"
if [[ -f "$stamp" ]]; then
  echo "requirements unchanged, install skipped"
else
  "$PY" -m pip install -q --disable-pip-version-check -r tests/requirements.txt
  rm -f "$VENV"/.req-*
  touch "$stamp"
fi
done_step

# The Node charger (tests/e2e/test_node_charger.py) needs its package, pinned
# by package-lock.json; installed before the e2e step, like the venv above.
if [[ "$mode" != rust ]]; then
  step "node charger (tests/node-charger): npm ci"
  lock_hash="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' tests/node-charger/package-lock.json)"
  node_stamp="tests/node-charger/node_modules/.lock-$lock_hash"
  if [[ -f "$node_stamp" ]]; then
    echo "package-lock.json unchanged, npm ci skipped"
  else
    (cd tests/node-charger && npm ci --no-audit --no-fund)
    touch "$node_stamp"
  fi
  done_step

  # The portal's browser tests (tests/e2e/test_portal.py): Debian's chromium, driven by
  # Playwright's Python package (tests/requirements.txt; Playwright's own browsers are
  # never downloaded), and axe-core pinned by tests/portal/package-lock.json.
  step "portal browser tests: chromium, axe-core (tests/portal): npm ci"
  if [[ ! -x /usr/bin/chromium ]]; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
      echo "/usr/bin/chromium is missing and there is no apt-get to install it" >&2
      exit 1
    fi
  fi
  axe_hash="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' tests/portal/package-lock.json)"
  axe_stamp="tests/portal/node_modules/.lock-$axe_hash"
  if [[ -f "$axe_stamp" ]]; then
    echo "package-lock.json unchanged, npm ci skipped"
  else
    (cd tests/portal && npm ci --no-audit --no-fund)
    touch "$axe_stamp"
  fi
  done_step
fi

# ---------------------------------------------------------------------------- 2. moto
step "moto server (mock AWS) on 127.0.0.1"
moto_port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
start_bg "$LOG_DIR/moto.log" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port"
moto_up=""
for _ in $(seq 1 100); do # ~20 s
  if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1; then
    moto_up=1
    break
  fi
  sleep 0.2
done
if [[ -z "$moto_up" ]]; then
  echo "moto_server did not answer on port $moto_port within 20 s; its log:" >&2
  tail -n 30 "$LOG_DIR/moto.log" >&2 || true
  exit 1
fi
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=eu-north-1
export AWS_DEFAULT_REGION=eu-north-1
export CSMS_TEST_MOTO=1
echo "moto at $AWS_ENDPOINT_URL (log: $LOG_DIR/moto.log)"
done_step

# ---------------------------------------------------------------------------- 3. Rust tests
if [[ "$mode" == all || "$mode" == rust ]]; then
  if cargo nextest --version >/dev/null 2>&1; then
    step "rust tests (cargo nextest run --workspace --all-targets)"
    cargo nextest run --workspace --all-targets --no-fail-fast
  else
    step "rust tests (cargo test --workspace --all-targets; install cargo-nextest for a faster run)"
    cargo test --workspace --all-targets
  fi
  done_step
fi

# ---------------------------------------------------------------------------- 4. end-to-end
if [[ "$mode" == all || "$mode" == e2e ]]; then
  step "end-to-end: cargo build --workspace --all-targets (csms-local), then pytest tests/e2e"
  # Built with the same selection as step 3, so the dependencies compiled for the tests
  # are reused: `cargo build -p csms-local` alone resolves other features and compiles
  # every dependency a second time (CI ran out of disk doing that).
  cargo build --workspace --all-targets
  # pytest exits 5 when it collected no test: that fails this step like any other error.
  # CSMS_TEST_LOG_DIR: where tests leave what a reviewer looks at (the portal's screenshots).
  CSMS_LOCAL_BIN="$TARGET_DIR/debug/csms-local" CSMS_TEST_LOG_DIR="$LOG_DIR" \
    "$PY" -m pytest tests/e2e -q -p no:cacheprovider "$@"
  done_step
fi

if [[ "$mode" == all ]]; then
  # -------------------------------------------------------------------------- 5. API fuzz
  step "API fuzz: schemathesis against the OpenAPI document (tests/fuzz)"
  # csms-local as step 4 built it (this mode always runs step 4 first).
  CSMS_LOCAL_BIN="$TARGET_DIR/debug/csms-local" CSMS_FUZZ_LOG_DIR="$LOG_DIR" \
    "$PY" tests/fuzz/run_fuzz.py
  done_step

  # -------------------------------------------------------------------------- 6. cfn-lint
  step "cfn-lint template.yaml"
  if [[ ! -f template.yaml ]]; then
    echo "template.yaml is missing: the SAM template belongs at the repository root" >&2
    exit 1
  fi
  "$VENV/bin/cfn-lint" template.yaml
  echo "template.yaml: no findings"
  done_step

  # -------------------------------------------------------------------------- 7. node tests
  if [[ -d infra/cloudfront ]]; then
    step "node --test infra/cloudfront"
    # Test files listed explicitly: node 20 and 22 read directory arguments differently.
    mapfile -t node_tests < <(find infra/cloudfront -type f \
      \( -name '*.test.js' -o -name '*.test.mjs' -o -name '*.test.cjs' -o -name '*_test.js' \
      -o -name '*-test.js' -o -name 'test-*.js' -o -name 'test.js' -o -name 'test.mjs' \) \
      -not -path '*/node_modules/*' | sort)
    if [[ ${#node_tests[@]} -eq 0 ]]; then
      echo "infra/cloudfront has no test file (*.test.js, *.test.mjs, ...)" >&2
      exit 1
    fi
    node --test "${node_tests[@]}"
    done_step
  fi

  # -------------------------------------------------------------------------- 8. figures
  # The examples were built in step 4 (--all-targets); `cargo run -p X` would resolve
  # other features and compile the dependencies again.
  step "figures: DynamoDB requests per OCPP message (example ddb-requests of csms-aws)"
  "$TARGET_DIR/debug/examples/ddb-requests"
  done_step

  # -------------------------------------------------------------------------- 9. figures
  step "figures: pricing benchmark, quick run (example price-bench of csms-domain, 5000 sessions)"
  "$TARGET_DIR/debug/examples/price-bench" 5000
  done_step

  # -------------------------------------------------------------------------- 10. figures
  step "figures: load-balancing benchmark and the BRF day (examples allocate-bench, simulate-day of csms-energy)"
  "$TARGET_DIR/debug/examples/allocate-bench"
  "$TARGET_DIR/debug/examples/simulate-day"
  done_step
fi

echo
echo "$passed passed, 0 failed"
