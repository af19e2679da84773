#!/usr/bin/env bash
# Creates, in namespace $1, every Secret the charts' ci/*-values.yaml name, with
# random values: what `ct install` needs before it installs the prod shapes.
# Passwords are hex so they stay URL-safe (the app builds URLs from them).
set -euo pipefail
namespace=${1:?usage: create-ci-secrets.sh NAMESPACE}

secret() {
  local name=$1
  shift
  kubectl --namespace "$namespace" create secret generic "$name" "$@" --dry-run=client -o yaml | kubectl apply -f -
}
random() { openssl rand -hex "${1:-24}"; }

kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f -
secret techshop-app-secrets --from-literal=jwt-secret="$(random 32)"
# the app chart alone points at external servers through this one
secret techshop-connections \
  --from-literal=mongodb-uri="mongodb://techshop:$(random)@ct-mongodb:27017/techshop" \
  --from-literal=redis-url="redis://:$(random)@ct-redis:6379/0"
secret techshop-mongodb \
  --from-literal=mongodb-root-password="$(random)" \
  --from-literal=mongodb-password="$(random)" \
  --from-literal=mongodb-metrics-password="$(random)" \
  --from-literal=mongodb-backup-password="$(random)" \
  --from-literal=mongodb-replica-set-key="$(openssl rand -base64 741 | tr -d '\n')"
secret techshop-redis --from-literal=redis-password="$(random)"
secret techshop-backup-s3 --from-literal=access-key-id="ci$(random 8)" --from-literal=secret-access-key="$(random)"
# MinIO's root credentials and the keys of the app's and the backups' own MinIO
# users (charts/objectstore; staging's backups and static files)
secret techshop-objectstore --from-literal=access-key-id="ci$(random 8)" --from-literal=secret-access-key="$(random)" \
  --from-literal=app-access-key-id="app$(random 8)" --from-literal=app-secret-access-key="$(random)" \
  --from-literal=backup-access-key-id="backup$(random 8)" --from-literal=backup-secret-access-key="$(random)"
secret techshop-grafana-admin --from-literal=admin-user=admin --from-literal=admin-password="$(random)"
# charts/logging's Elasticsearch API key (its own namespace in a real install).
secret techshop-logs-elasticsearch --from-literal=api-key="$(random)"
secret techshop-alertmanager \
  --from-literal=slack-webhook-url="https://hooks.invalid/$(random 8)" \
  --from-literal=pagerduty-routing-key="$(random 16)" \
  --from-literal=smtp-password="$(random)"
