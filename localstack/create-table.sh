#!/usr/bin/env bash
# Creates only the CSMS DynamoDB table, with the keys, indexes and TTL of template.yaml, using
# the AWS CLI. For the AWS mode of local runs and for the DynamoDB contract tests against
# LocalStack, moto or DynamoDB Local. Safe to run again: an existing table is left alone.
#
#   ./localstack/create-table.sh                       # table "csms" at http://localhost:4566
#   CSMS_TABLE=csms-dev AWS_ENDPOINT_URL=http://127.0.0.1:5000 ./localstack/create-table.sh
set -euo pipefail

table="${CSMS_TABLE:-csms}"
endpoint="${AWS_ENDPOINT_URL:-http://localhost:4566}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-eu-north-1}}"

# Local emulators accept any credentials; never pick up a real profile by accident.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_PAGER=""

command -v aws >/dev/null || { echo "create-table.sh: the AWS CLI (aws) is required" >&2; exit 1; }

ddb() {
  aws --endpoint-url "$endpoint" --region "$region" dynamodb "$@"
}

if ddb describe-table --table-name "$table" >/dev/null 2>&1; then
  echo "Table $table already exists at $endpoint"
else
  echo "Creating table $table at $endpoint"
  ddb create-table \
    --table-name "$table" \
    --billing-mode PAY_PER_REQUEST \
    --attribute-definitions \
      AttributeName=PK,AttributeType=S \
      AttributeName=SK,AttributeType=S \
      AttributeName=GSI1PK,AttributeType=S \
      AttributeName=GSI1SK,AttributeType=S \
      AttributeName=GSI2PK,AttributeType=S \
      AttributeName=GSI2SK,AttributeType=S \
      AttributeName=GSI3PK,AttributeType=S \
      AttributeName=GSI3SK,AttributeType=S \
    --key-schema AttributeName=PK,KeyType=HASH AttributeName=SK,KeyType=RANGE \
    --global-secondary-indexes '[
      {"IndexName": "GSI1",
       "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                     {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "ALL"}},
      {"IndexName": "GSI2",
       "KeySchema": [{"AttributeName": "GSI2PK", "KeyType": "HASH"},
                     {"AttributeName": "GSI2SK", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "ALL"}},
      {"IndexName": "GSI3",
       "KeySchema": [{"AttributeName": "GSI3PK", "KeyType": "HASH"},
                     {"AttributeName": "GSI3SK", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "ALL"}}
    ]' >/dev/null
  ddb wait table-exists --table-name "$table"
fi

ttl_status="$(ddb describe-time-to-live --table-name "$table" \
  --query 'TimeToLiveDescription.TimeToLiveStatus' --output text 2>/dev/null || true)"
case "$ttl_status" in
  ENABLED | ENABLING) ;;
  *)
    ddb update-time-to-live --table-name "$table" \
      --time-to-live-specification Enabled=true,AttributeName=ttl >/dev/null
    ;;
esac

echo "Table $table is ready (keys PK/SK, indexes GSI1, GSI2 and GSI3, TTL on ttl)."
echo "For the Lambdas' code outside AWS:"
echo "  export CSMS_TABLE=$table AWS_ENDPOINT_URL=$endpoint AWS_REGION=$region"
echo "  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test   # any value works locally"
