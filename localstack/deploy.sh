#!/usr/bin/env bash
# Builds the four Lambdas and deploys template.yaml into a running LocalStack (docker compose
# up -d in this directory), then prints the endpoints. See README.md here.
#
# Needs: the AWS SAM CLI (or samlocal: SAM=samlocal), the AWS CLI, cargo-lambda with Zig, curl,
# and a LocalStack with API Gateway v2 (WebSocket and HTTP APIs), which the free image lacks:
# start it with LOCALSTACK_AUTH_TOKEN set. Without one, use ./create-table.sh.
#
# Settings (environment): STACK (csms-local), STAGE (ocpp), ARCH (the host's: x86_64 or arm64),
# CSMS_ADMIN_API_KEY (24+ characters, no spaces; a fixed local default), AWS_ENDPOINT_URL
# (http://localhost:4566), AWS_REGION (eu-north-1), BUCKET (csms-sam-artifacts),
# WS_MANAGEMENT_ENDPOINT (derived from the API id; see README.md), SKIP_BUILD=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

stack="${STACK:-csms-local}"
stage="${STAGE:-ocpp}"
bucket="${BUCKET:-csms-sam-artifacts}"
admin_key="${CSMS_ADMIN_API_KEY:-local-admin-key-change-me-0123456789}"
sam="${SAM:-sam}"

case "${ARCH:-$(uname -m)}" in
  x86_64 | amd64) arch=x86_64 ;;
  arm64 | aarch64) arch=arm64 ;;
  *) echo "deploy.sh: unknown architecture ${ARCH:-$(uname -m)}; set ARCH=x86_64 or ARCH=arm64" >&2; exit 1 ;;
esac

# Everything below talks to LocalStack, never to a real account.
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-eu-north-1}}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
unset AWS_PROFILE
export AWS_PAGER=""
export SAM_CLI_TELEMETRY=0
# Path-style S3 addressing, so artifact uploads do not need <bucket>.localhost to resolve.
aws_config="$(mktemp)"
trap 'rm -f "$aws_config"' EXIT
printf '[default]\nregion = %s\ns3 =\n    addressing_style = path\n' "$AWS_REGION" >"$aws_config"
export AWS_CONFIG_FILE="$aws_config"

for tool in "$sam" aws curl; do
  command -v "$tool" >/dev/null || { echo "deploy.sh: $tool is required" >&2; exit 1; }
done
if [[ "${SKIP_BUILD:-0}" != 1 ]] && ! command -v cargo-lambda >/dev/null; then
  echo "deploy.sh: cargo-lambda is required (pip install cargo-lambda ziglang)" >&2
  exit 1
fi

health="$(curl -fsS "$AWS_ENDPOINT_URL/_localstack/health")" || {
  echo "deploy.sh: no LocalStack at $AWS_ENDPOINT_URL (docker compose up -d in $here)" >&2
  exit 1
}
if ! grep -Eq '"apigatewayv2": *"(available|running)"' <<<"$health"; then
  echo "deploy.sh: this LocalStack has no API Gateway v2 (WebSocket/HTTP APIs); the free image does not." >&2
  echo "  Start it with LOCALSTACK_AUTH_TOKEN (see README.md), or use ./create-table.sh for the table alone." >&2
  exit 1
fi

cd "$root"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  # --workspace: the workspace's default-members is the local runner only (infra/README.md).
  # SAM passes --arm64 for arm64 and nothing for x86_64, where cargo-lambda would otherwise
  # build for the host.
  build_env=('CARGO_LAMBDA_BUILD.WORKSPACE=true')
  if [[ "$arch" == x86_64 ]]; then
    build_env+=('CARGO_LAMBDA_BUILD.X86_64=true')
  fi
  env "${build_env[@]}" "$sam" build --parameter-overrides "LambdaArchitecture=$arch"
fi

aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || aws s3 mb "s3://$bucket" >/dev/null

deploy() {
  "$sam" deploy \
    --stack-name "$stack" \
    --s3-bucket "$bucket" \
    --region "$AWS_REGION" \
    --capabilities CAPABILITY_IAM \
    --no-confirm-changeset \
    --no-fail-on-empty-changeset \
    --parameter-overrides \
      "AdminApiKey=$admin_key" \
      "StageName=$stage" \
      "LambdaArchitecture=$arch" \
      "EnableCloudFront=false" \
      "TableDeletionProtection=false" \
      "LogRetentionDays=7" \
      "WsManagementEndpoint=\"$1\""
}

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

resource_id() {
  aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id "$1" \
    --query StackResourceDetail.PhysicalResourceId --output text
}

# The Management API endpoint holds the API id, known only after the first deployment. The
# default on AWS (https://<id>.execute-api.<region>.amazonaws.com/<stage>) is not LocalStack's,
# so deploy once, then again with LocalStack's form of the endpoint.
current="$(output WsManagementEndpoint 2>/dev/null || true)"
api_id=""
if [[ -n "$current" && "$current" != None ]]; then
  api_id="$(resource_id WebSocketApi)"
fi
if [[ -z "$api_id" ]]; then
  deploy ""
  api_id="$(resource_id WebSocketApi)"
fi
management="${WS_MANAGEMENT_ENDPOINT:-http://$api_id.execute-api.localhost.localstack.cloud:4566/$stage}"
deploy "$management"

http_api_id="$(resource_id HttpApi)"
cat <<EOF

Deployed stack $stack to LocalStack at $AWS_ENDPOINT_URL.

  WebSocket (chargers)  $(output WebSocketUrl)?stationId=<stationId>
      (no CloudFront here: the identity goes in the query string, not in the path)
  Management API        $(output WsManagementEndpoint)
  HTTP API              http://$http_api_id.execute-api.localhost.localstack.cloud:4566/api/v1
  Health                http://$http_api_id.execute-api.localhost.localstack.cloud:4566/healthz
  DynamoDB table        $(output TableName)
  Admin API key         ${CSMS_ADMIN_API_KEY:+(from CSMS_ADMIN_API_KEY)}${CSMS_ADMIN_API_KEY:-$admin_key}
EOF
