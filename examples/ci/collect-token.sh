#!/usr/bin/env bash
# Writes the job's GitHub OIDC token (audience api://AzureADTokenExchange) to
# a file and keeps replacing it while the job runs: GitHub's tokens last
# minutes, a shard's apply hours. collect reads the file for Graph
# (COLLECT_FEDERATED_TOKEN_FILE) and the Entra ID default credential reads
# it for storage (AZURE_FEDERATED_TOKEN_FILE). The runner stops the loop
# when the job ends.
#
# Copy it to .github/collect-token.sh in the matter's repository (chmod +x);
# collect-sharded.yml runs it as a step.
set -euo pipefail
token_file="$RUNNER_TEMP/entra-token"
{
  echo "COLLECT_FEDERATED_TOKEN_FILE=$token_file"
  echo "AZURE_FEDERATED_TOKEN_FILE=$token_file"
} >> "$GITHUB_ENV"
fetch() {
  curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange" |
    jq -r .value > "$token_file.tmp" && mv "$token_file.tmp" "$token_file"
}
umask 077
fetch
nohup bash -c "$(declare -f fetch); token_file='$token_file'; while sleep 240; do fetch; done" >/dev/null 2>&1 &
