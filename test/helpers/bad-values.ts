// The corpus of bad values files added for issue 13 (the classes Kubernetes or
// the programs would refuse) and the quota object counts of issue 11: each
// fixture with every diagnostic the validator must give, in order.
// test/validate.test.ts checks the validator; test/bad-values-helm.test.ts that
// helm refuses each file too (its schema, or the template fail of the same rule).

export interface Expected {
  rule: string;
  line: number;
  column: number;
  path: string;
  /** Parts of the message that must be there. */
  says?: string[];
}

export interface Case {
  fixture: string;
  expected: Expected[];
}

export const e = (rule: string, line: number, column: number, path: string, ...says: string[]): Expected => ({ rule, line, column, path, says });

export const DEFAULT_NOTE = '[the chart default; set it in this file]';

export const CLASS_CASES: Case[] = [
  // Kubernetes syntax: cron schedules (one grammar, scripts/lib/cron.ts)
  { fixture: "values-dev.cron-backwards-range.yaml", expected: [e("schema/pattern", 7, 5, "backup.incremental.schedule", "is not a schedule Kubernetes accepts: hour range 22-2 runs backwards (got \"0 22-2 * * *\")")] },
  { fixture: "values-dev.cron-day-32.yaml", expected: [e("schema/pattern", 6, 3, "backup.schedule", "is not a schedule Kubernetes accepts: day of month \"32\" is outside 1-31 (got \"0 2 32 * *\")")] },
  { fixture: "values-dev.cron-hour-24.yaml", expected: [e("schema/pattern", 7, 5, "backup.verify.schedule", "is not a schedule Kubernetes accepts: hour \"24\" is outside 0-23 (got \"30 24 * * *\")")] },
  { fixture: "values-dev.cron-minute-60.yaml", expected: [e("schema/pattern", 6, 3, "backup.schedule", "is not a schedule Kubernetes accepts: minute \"60\" is outside 0-59 (got \"60 2 * * *\")")] },
  { fixture: "values-dev.cron-month-13.yaml", expected: [e("schema/pattern", 6, 3, "backup.schedule", "is not a schedule Kubernetes accepts: month \"13\" is outside 1-12 (got \"0 2 1 13 *\")")] },
  { fixture: "values-dev.cron-prose.yaml", expected: [e("schema/pattern", 7, 5, "backup.incremental.schedule", "is not a schedule Kubernetes accepts: a schedule has 5 fields (minute hour day-of-month")] },
  { fixture: "values-dev.cron-range-zero-step.yaml", expected: [e("schema/pattern", 8, 7, "redis.cluster.reconcile.schedule", "is not a schedule Kubernetes accepts: hour step \"0\" must be a whole number of at least 1")] },
  { fixture: "values-dev.cron-six-fields.yaml", expected: [e("schema/pattern", 6, 3, "backup.schedule", "is not a schedule Kubernetes accepts: a schedule has 5 fields (minute hour day-of-month")] },
  { fixture: "values-dev.cron-unknown-macro.yaml", expected: [e("schema/pattern", 6, 3, "backup.schedule", "is not a schedule Kubernetes accepts: unknown macro @fortnightly (use @yearly, @annually,")] },
  { fixture: "values-dev.cron-weekday-8.yaml", expected: [e("schema/pattern", 7, 5, "backup.verify.schedule", "is not a schedule Kubernetes accepts: day of week \"8\" is outside 0-7 (got \"0 5 * * 8\")")] },
  { fixture: "values-dev.cron-zero-step.yaml", expected: [e("schema/pattern", 8, 7, "redis.cluster.reconcile.schedule", "is not a schedule Kubernetes accepts: minute step \"0\" must be a whole number of at least")] },
  { fixture: "values-dev.time-zone-unknown.yaml", expected: [e("schema/enum", 7, 3, "backup.timeZone", "is not a time zone the API server can load: an IANA name such as Europe/Madrid", "(got \"Europe/Atlantis\")")] },
  // Kubernetes syntax: DNS names
  { fixture: "values-dev.cluster-domain-label-64.yaml", expected: [e("schema/pattern", 6, 3, "mongodb.clusterDomain", "is not a DNS name - lower-case letters, digits and \"-\", labels of 1-63 characters")] },
  { fixture: "values-dev.host-label-64.yaml", expected: [e("schema/pattern", 7, 5, "app.ingress.host", "is not a DNS name - lower-case letters, digits and \"-\", labels of 1-63 characters")] },
  { fixture: "values-dev.host-label-trailing-dash.yaml", expected: [e("schema/pattern", 7, 5, "app.ingress.host", "is not a DNS name - lower-case letters, digits and \"-\", labels of 1-63 characters")] },
  { fixture: "values-dev.host-over-253.yaml", expected: [e("schema/maxLength", 7, 5, "app.ingress.host", "is not a DNS name - lower-case letters, digits and \"-\", labels of 1-63 characters")] },
  { fixture: "values-dev.host-uppercase.yaml", expected: [e("schema/pattern", 7, 5, "app.ingress.host", "is not a DNS name - lower-case letters, digits and \"-\", labels of 1-63 characters")] },
  // Kubernetes syntax: label and annotation keys and values in every free-form map
  { fixture: "values-dev.annotation-key-name-64.yaml", expected: [e("schema/pattern", 7, 5, "backup.podAnnotations[\"example.com/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"]", "key name \"example.com/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"")] },
  { fixture: "values-dev.annotation-key-space.yaml", expected: [e("schema/pattern", 7, 5, "redis.podAnnotations[\"my annotation\"]", "key name \"my annotation\" is not a label or annotation key - an optional DNS-subdomain")] },
  { fixture: "values-dev.label-value-trailing-dash.yaml", expected: [e("schema/pattern", 7, 5, "redis.podLabels.tier", "is not a label value - at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending")] },
  { fixture: "values-dev.node-selector-empty-name.yaml", expected: [e("schema/pattern", 7, 5, "app.nodeSelector[\"kubernetes.io/\"]", "key name \"kubernetes.io/\" is not a label or annotation key - an optional DNS-subdomain")] },
  { fixture: "values-dev.node-selector-newline.yaml", expected: [e("schema/pattern", 7, 5, "mongodb.nodeSelector[\"kubernetes.io/os\"]", "is not a label value - at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending")] },
  { fixture: "values-dev.pod-label-key-prefix-upper.yaml", expected: [e("schema/pattern", 7, 5, "mongodb.podLabels[\"Example.com/team\"]", "key name \"Example.com/team\" is not a label or annotation key - an optional DNS-subdomain")] },
  { fixture: "values-dev.pod-label-key-two-slashes.yaml", expected: [e("schema/pattern", 7, 5, "redis.podLabels[\"example.com/team/name\"]", "key name \"example.com/team/name\" is not a label or annotation key - an optional")] },
  { fixture: "values-dev.pod-label-value-64.yaml", expected: [e("schema/maxLength", 7, 5, "app.podLabels.team", "is not a label value - at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending")] },
  { fixture: "values-dev.pod-label-value-space.yaml", expected: [e("schema/pattern", 7, 5, "app.podLabels.team", "is not a label value - at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending")] },
  { fixture: "values-dev.sa-annotation-key.yaml", expected: [e("schema/pattern", 8, 7, "app.serviceAccount.annotations[\"iam role\"]", "key name \"iam role\" is not a label or annotation key - an optional DNS-subdomain prefix")] },
  { fixture: "values-dev.dashboard-label-value.yaml", expected: [e("schema/pattern", 9, 7, "monitoring.dashboards.sidecarLabel.value", "is not a label value - at most 63 letters, digits", "(got \"not valid!\")")] },
  { fixture: "values-dev.selector-label-value.yaml", expected: [e("schema/pattern", 8, 7, "monitoring.operator.selectorLabels.release", "is not a label value - at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending")] },
  // Kubernetes syntax: storageClassName in every chart
  { fixture: "values-dev.extra-env-reserved.yaml", expected: [e("schema/not", 9, 5, "app.extraEnv.NODE_ENV", "key name \"NODE_ENV\" is set by the chart itself", "use its own key (app.nodeEnv")] },
  { fixture: "values-dev.toleration-no-key-equal.yaml", expected: [e("schema/const", 8, 7, "app.tolerations[0].operator", "must be Exists when the key is empty or absent", "(got \"Equal\")")] },
  { fixture: "values-dev.storage-size-zero.yaml", expected: [e("schema/pattern", 8, 5, "redis.persistence.size", "is not a volume size Kubernetes accepts - a whole number above zero", "(got \"0Gi\")")] },
  { fixture: "values-dev.replicas-over-int32.yaml", expected: [e("schema/maximum", 7, 3, "app.replicaCount", "is above 2147483647, the largest number this Kubernetes field holds (int32)", "(got 3000000000)")] },
  { fixture: "values-dev.access-modes-rwop-mixed.yaml", expected: [e("schema/maxItems", 8, 5, "mongodb.persistence.accessModes", "holds ReadWriteOncePod beside another mode, which the API server refuses")] },
  { fixture: "values-dev.image-registry-trailing-slash.yaml", expected: [e("schema/pattern", 5, 3, "global.imageRegistry", "is not a registry - a host name in lower case with an optional :port and /path", "(got \"docker.io/\")")] },
  { fixture: "values-dev.storage-class-space.yaml", expected: [e("schema/pattern", 8, 7, "monitoring.prometheus.persistence.storageClassName", "is not a StorageClass name - lower-case letters, digits, \"-\" and \".\", starting and ending")] },
  { fixture: "values-dev.storage-class-underscore.yaml", expected: [e("schema/pattern", 7, 5, "mongodb.persistence.storageClass", "is not a StorageClass name - lower-case letters, digits, \"-\" and \".\", starting and ending")] },
  { fixture: "values-dev.storage-class-upper.yaml", expected: [e("schema/pattern", 7, 5, "redis.persistence.storageClass", "is not a StorageClass name - lower-case letters, digits, \"-\" and \".\", starting and ending")] },
  { fixture: "values-staging.storage-class-backup.yaml", expected: [e("schema/pattern", 70, 5, "backup.persistence.storageClass", "is not a StorageClass name - lower-case letters, digits, \"-\" and \".\", starting and ending")] },
  // Kubernetes syntax: CIDRs
  { fixture: "values-dev.cidr-ipv4-prefix-64.yaml", expected: [e("schema/pattern", 8, 7, "app.networkPolicy.externalEgress.cidr", "is not an address range - IPv4 a.b.c.d/0-32 (octets 0-255) or IPv6 with a prefix length")] },
  { fixture: "values-dev.cidr-ipv6-prefix-129.yaml", expected: [e("schema/pattern", 8, 7, "app.networkPolicy.externalEgress.cidr", "is not an address range - IPv4 a.b.c.d/0-32 (octets 0-255) or IPv6 with a prefix length")] },
  { fixture: "values-dev.cidr-no-prefix.yaml", expected: [e("schema/pattern", 8, 7, "monitoring.networkPolicy.apiServer.cidr", "is not an address range - IPv4 a.b.c.d/0-32 (octets 0-255) or IPv6 with a prefix length")] },
  { fixture: "values-dev.cidr-octet-256.yaml", expected: [e("schema/pattern", 10, 11, "app.networkPolicy.externalEgress.except[0]", "is not an address range - IPv4 a.b.c.d/0-32 (octets 0-255) or IPv6 with a prefix length")] },
  // Kubernetes syntax: RFC 3339 times
  { fixture: "values-prod.restore-february-30.yaml", expected: [e("schema/pattern", 160, 5, "backup.restore.pointInTime", "is not an RFC 3339 UTC time such as 2025-01-31T10:30:00Z - a real month, a day that month")] },
  { fixture: "values-prod.restore-hour-24.yaml", expected: [e("schema/pattern", 160, 5, "backup.restore.pointInTime", "is not an RFC 3339 UTC time such as 2025-01-31T10:30:00Z - a real month, a day that month")] },
  { fixture: "values-prod.restore-month-13.yaml", expected: [e("schema/pattern", 160, 5, "backup.restore.pointInTime", "is not an RFC 3339 UTC time such as 2025-01-31T10:30:00Z - a real month, a day that month")] },
  { fixture: "values-prod.restore-no-zone.yaml", expected: [e("schema/pattern", 160, 5, "backup.restore.pointInTime", "is not an RFC 3339 UTC time such as 2025-01-31T10:30:00Z - a real month, a day that month")] },
  // Kubernetes syntax: tolerations, archive names, IngressClass names
  { fixture: "values-dev.ingress-class-uppercase.yaml", expected: [e("schema/pattern", 7, 5, "app.ingress.className", "must match pattern \"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$\" (got \"Nginx\")")] },
  { fixture: "values-dev.toleration-exists-with-value.yaml", expected: [e("schema/maxLength", 9, 7, "redis.tolerations[0].value", "must be empty with operator Exists (the API server refuses a value there) (got \"database\")")] },
  { fixture: "values-dev.toleration-key-space.yaml", expected: [e("schema/pattern", 7, 7, "mongodb.tolerations[0].key", "is not a taint key - empty, or an optional DNS-subdomain prefix and \"/\", then a name of")] },
  { fixture: "values-dev.toleration-seconds-no-execute.yaml", expected: [e("schema/const", 9, 7, "app.tolerations[0].effect", "must be NoExecute when tolerationSeconds is set (the API server refuses it otherwise)")] },
  { fixture: "values-prod.restore-archive-month-13.yaml", expected: [e("schema/pattern", 159, 5, "backup.restore.archive", "is not a full dump name - mongodb-full-<YYYYMMDD>T<HHMMSS>Z.archive.gz with a real month,")] },
  { fixture: "values-prod.restore-february-29-2025.yaml", expected: [e("schema/pattern", 160, 5, "backup.restore.pointInTime", "is not an RFC 3339 UTC time such as 2025-01-31T10:30:00Z - a real month, a day that month")] },
  { fixture: "values-staging.backup-endpoint-label-64.yaml", expected: [e("schema/pattern", 68, 5, "backup.storage.endpoint", "is not an endpoint URL - http(s)://, a DNS name (labels of 1-63 lower-case letters,")] },
  // Topology
  { fixture: "values-dev.mongodb-4-members.yaml", expected: [e("schema/not", 7, 3, "mongodb.replicaCount", "a replica set needs an odd number of members (3, 5, 7) - with an even number one more")] },
  { fixture: "values-dev.mongodb-standalone-3.yaml", expected: [e("schema/const", 6, 3, "mongodb.replicaCount", "a standalone MongoDB runs exactly 1 member; set replicaCount 1, or architecture")] },
  { fixture: "values-prod.mongodb-2-members.yaml", expected: [e("schema/not", 50, 3, "mongodb.replicaCount", "a replica set needs an odd number of members (3, 5, 7) - with an even number one more"), e("profile/prod", 50, 3, "mongodb.replicaCount", "must be >= 3 (got 2) - prod policy: a prod replica set has at least 3 members to keep a")] },
  { fixture: "values-prod.mongodb-6-members.yaml", expected: [e("schema/not", 50, 3, "mongodb.replicaCount", "a replica set needs an odd number of members (3, 5, 7) - with an even number one more")] },
  { fixture: "values-staging.mongodb-2-members.yaml", expected: [e("schema/not", 43, 3, "mongodb.replicaCount", "a replica set needs an odd number of members (3, 5, 7) - with an even number one more"), e("profile/staging", 43, 3, "mongodb.replicaCount", "must be >= 3 (got 2) - staging policy: a staging replica set has at least 3 members like")] },
  // Resources: requests above limits, every container of every component
  { fixture: "values-dev.grafana-request-over-limit.yaml", expected: [e("rule/request-limit", 9, 9, "monitoring.grafana.resources.requests.cpu", "monitoring.grafana.resources.requests.cpu 2 is above")] },
  { fixture: "values-dev.mongodb-bootstrap-request-over-limit.yaml", expected: [e("rule/request-limit", 9, 9, "mongodb.bootstrap.resources.requests.cpu", "mongodb.bootstrap.resources.requests.cpu 1 is above")] },
  { fixture: "values-dev.mongodb-request-over-limit.yaml", expected: [e("rule/request-limit", 9, 7, "mongodb.resources.requests.memory", "mongodb.resources.requests.memory 2Gi is above mongodb.resources.limits.memory 1Gi:")] },
  { fixture: "values-dev.prometheus-request-over-limit.yaml", expected: [e("rule/request-limit", 9, 9, "monitoring.prometheus.resources.requests.memory", "monitoring.prometheus.resources.requests.memory 3Gi is above")] },
  { fixture: "values-dev.redis-exporter-request-over-limit.yaml", expected: [e("rule/request-limit", 9, 9, "redis.metrics.resources.requests.cpu", "redis.metrics.resources.requests.cpu 200m is above redis.metrics.resources.limits.cpu")] },
  { fixture: "values-prod.backup-verify-request-over-limit.yaml", expected: [e("rule/quota-capacity", 170, 5, "resourceQuota.hard[\"requests.memory\"]", "quota requests.memory 16Gi is below the 18768Mi the release needs at full scale; raise it"), e("rule/request-limit", 152, 9, "backup.verify.resources.requests.memory", "backup.verify.resources.requests.memory 8Gi is above")] },
  // Cross-field sense
  { fixture: "values-dev.backup-default-bucket.yaml", expected: [e("schema/not", 5, 1, "backup.storage.bucket", "is the chart's example bucket; backups on need your own bucket (backup.storage.bucket),", DEFAULT_NOTE)] },
  { fixture: "values-dev.wiredtiger-over-limit.yaml", expected: [e("rule/mongodb-cache", 6, 3, "mongodb.wiredTigerCacheSizeGB", "mongodb.wiredTigerCacheSizeGB 2 is above 50% of mongodb.resources.limits.memory 1Gi:")] },
  { fixture: "values-prod.backup-alert-under-interval.yaml", expected: [e("rule/backup-alert-age", 87, 7, "monitoring.alerts.backup.maxAgeHours", "monitoring.alerts.backup.maxAgeHours 12 is not above the longest gap between two runs of")] },
  { fixture: "values-prod.backup-weekly-schedule.yaml", expected: [e("rule/backup-alert-age", 78, 1, "monitoring.alerts.backup.maxAgeHours", "monitoring.alerts.backup.maxAgeHours 26 is not above the longest gap between two runs of", DEFAULT_NOTE), e("rule/backup-cadence", 140, 3, "backup.schedule", "backup.schedule \"0 2 * * 0\" leaves up to 10080 minutes between two runs, but prod promises a full backup every day (seed 003)")] },
  { fixture: "values-prod.retention-size-over-volume.yaml", expected: [e("rule/prometheus-retention-size", 90, 7, "monitoring.prometheus.retention.size", "monitoring.prometheus.retention.size 25GB is above 90% of its volume 20Gi: the WAL and")] },
  { fixture: "values-prod.wiredtiger-over-half.yaml", expected: [e("rule/mongodb-cache", 58, 3, "mongodb.wiredTigerCacheSizeGB", "mongodb.wiredTigerCacheSizeGB 1.5 is above 50% of mongodb.resources.limits.memory 2Gi:")] },
  { fixture: "values-staging.backup-default-bucket.yaml", expected: [e("schema/not", 65, 3, "backup.storage.bucket", "is the chart's example bucket; backups on need your own bucket (backup.storage.bucket),", DEFAULT_NOTE)] },
  // Prod policy
  { fixture: "values-dev.ingress-configuration-snippet.yaml", expected: [e("schema/not", 8, 7, "app.ingress.annotations[\"nginx.ingress.kubernetes.io/configuration-snippet\"]", "key name \"nginx.ingress.kubernetes.io/configuration-snippet\" is an ingress-nginx snippet")] },
  { fixture: "values-prod.backup-network-policy-off.yaml", expected: [e("profile/prod", 158, 5, "backup.networkPolicy.enabled", "must be true (got false) - prod policy: prod isolates the backup pods (they hold the")] },
  { fixture: "values-prod.ingress-server-snippet.yaml", expected: [e("schema/not", 47, 7, "app.ingress.annotations[\"nginx.ingress.kubernetes.io/server-snippet\"]", "key name \"nginx.ingress.kubernetes.io/server-snippet\" is an ingress-nginx snippet")] },
  { fixture: "values-prod.monitoring-network-policy-off.yaml", expected: [e("profile/prod", 86, 5, "monitoring.networkPolicy.enabled", "must be true (got false) - prod policy: prod isolates Prometheus")] },
  { fixture: "values-staging.ingress-auth-snippet.yaml", expected: [e("schema/not", 39, 7, "app.ingress.annotations[\"nginx.ingress.kubernetes.io/auth-snippet\"]", "key name \"nginx.ingress.kubernetes.io/auth-snippet\" is an ingress-nginx snippet")] },
  // Rules that lived only in templates (now one rule table), and the schema twins of removed template fails
  { fixture: "values-dev.alertmanager-undefined-receiver.yaml", expected: [e("rule/alertmanager-reference", 13, 13, "monitoring.alertmanager.config.route.routes[0].receiver", "names the receiver \"pager\", which config.receivers does not define", "name one of: default")] },
  { fixture: "values-dev.alertmanager-undefined-time-interval.yaml", expected: [e("rule/alertmanager-reference", 16, 39, "monitoring.alertmanager.config.route.routes[0].routes[0].mute_time_intervals[0]", "names the time interval \"weekends\", which config.time_intervals does not define", "name one of: (none)")] },
  { fixture: "values-dev.alertmanager-global-slack-url.yaml", expected: [e("rule/alertmanager-inline-credential", 9, 9, "monitoring.alertmanager.config.global.slack_api_url", "monitoring.alertmanager.config.global.slack_api_url is an inline credential: use slack_api_url_file")] },
  { fixture: "values-dev.backup-key-without-secret.yaml", expected: [e("schema/minLength", 7, 3, "backup.storage.secretAccessKey", "storage.accessKeyId is set, so storage.secretAccessKey must be too (or use", DEFAULT_NOTE)] },
  { fixture: "values-dev.grafana-password-with-existing-secret.yaml", expected: [e("rule/credential-source", 8, 7, "monitoring.grafana.admin.password", "monitoring.grafana.admin: set either an inline value or existingSecret, not both (which")] },
  { fixture: "values-dev.redis-maxmemory-over-80.yaml", expected: [e("rule/redis-maxmemory", 7, 5, "redis.config.maxmemory", "redis.config.maxmemory 450mb is above 80% of redis.resources.limits.memory 512Mi: buffers")] },
  { fixture: "values-dev.redis-password-with-existing-secret.yaml", expected: [e("rule/credential-source", 9, 5, "redis.auth.password", "redis.auth.password: set either an inline value or existingSecret, not both (which one")] },
  { fixture: "values-dev.restore-point-in-time-standalone.yaml", expected: [e("schema/const", 5, 1, "backup.mongodb.architecture", "restore.pointInTime needs a replica set (mongodb.architecture replicaset) - a standalone", DEFAULT_NOTE)] },
  { fixture: "values-dev.restore-without-archive.yaml", expected: [e("schema/minLength", 9, 3, "backup.restore.archive", "restore.enabled needs restore.archive, the full dump to restore", DEFAULT_NOTE)] },
  { fixture: "values-prod.alertmanager-inline-webhook.yaml", expected: [e("rule/alertmanager-inline-credential", 116, 15, "monitoring.alertmanager.config.receivers[0].slack_configs[0].api_url", "monitoring.alertmanager.config.receivers[0].slack_configs[0].api_url is an inline")] },
  { fixture: "values-dev.redis-maxmemory-unit.yaml", expected: [e("schema/pattern", 7, 5, "redis.config.maxmemory", "must match pattern \"^[1-9][0-9]*(kb|mb|gb)?$\" (got \"400MB\")")] },
  // Cross-field rules of the app, monitoring and backup charts, and the LimitRange for every container (template twins in charts/techshop/templates/rules.yaml)
  { fixture: "values-dev.mongodb-exporter-over-limitrange.yaml", expected: [e("rule/limit-range", 9, 9, "mongodb.metrics.resources.limits.memory", "mongodb.metrics.resources.limits.memory 6Gi is above limitRange.max.memory 4Gi: the")] },
  // the objectstore chart (MinIO): prod refuses it, S3 bucket names, its consumers need it, one source of keys for backups
  { fixture: "values-prod.objectstore-enabled.yaml", expected: [e("profile/prod", 197, 3, "objectstore.enabled", "must be false (got true) - prod policy: prod keeps backups and static files on external S3")] },
  { fixture: "values-dev.objectstore-bucket-name.yaml", expected: [e("schema/pattern", 8, 5, "objectstore.buckets.static", "is not a bucket name S3 accepts here - 3 to 63 lower-case letters, digits and \"-\"", "(got \"Static_Files\")")] },
  { fixture: "values-dev.objectstore-off-consumers-on.yaml", expected: [e("rule/objectstore-consumer", 7, 5, "app.objectstore.enabled", "app.objectstore.enabled uses this release's MinIO, but objectstore.enabled is false"), e("rule/objectstore-consumer", 12, 5, "backup.storage.objectstore", "backup.storage.objectstore uses this release's MinIO, but objectstore.enabled is false")] },
  { fixture: "values-dev.backup-objectstore-with-endpoint.yaml", expected: [e("schema/maxLength", 12, 5, "backup.storage.endpoint", "is set, but storage.objectstore takes the endpoint from this release's MinIO"), e("schema/maxLength", 13, 5, "backup.storage.existingSecret", "is set, but storage.objectstore takes the keys from this release's MinIO Secret")] },
  { fixture: "values-dev.tracing-collector-off.yaml", expected: [e("rule/tracing-collector", 7, 5, "app.tracing.enabled", "app.tracing.enabled sends traces to this release's collector, but tracing.enabled is false")] },
  { fixture: "values-prod.monitoring-off.yaml", expected: [e("profile/prod", 85, 3, "monitoring.enabled", "must be true (got false) - prod policy: prod is watched")] },
  { fixture: "values-prod.node-env-development.yaml", expected: [e("profile/prod", 12, 3, "app.nodeEnv", "must be \"production\" (got \"development\") - prod policy: prod runs Node.js as production")] },
  { fixture: "values-prod.log-level-debug.yaml", expected: [e("profile/prod", 50, 5, "app.logging.level", "(got \"debug\") - prod policy: prod logs at info or above")] },
  { fixture: "values-prod.mongodb-volumes-deleted.yaml", expected: [e("profile/prod", 68, 7, "mongodb.persistence.retentionPolicy.whenDeleted", "must be \"Retain\" (got \"Delete\") - prod policy: prod keeps the MongoDB volumes")] },
  { fixture: "values-prod.backup-unencrypted.yaml", expected: [e("profile/prod", 153, 7, "backup.storage.serverSideEncryption.type", "must not be empty (got \"\") - prod policy: prod encrypts backups at rest")] },
  { fixture: "values-prod.tracing-off.yaml", expected: [e("profile/prod", 47, 5, "app.tracing.enabled", "must be true (got false) - prod policy: prod app pods send traces"), e("profile/prod", 186, 3, "tracing.enabled", "must be true (got false) - prod policy: prod runs the trace collector")] },
  { fixture: "values-dev.monitoring-target-without-database.yaml", expected: [e("rule/monitoring-targets", 1, 1, "monitoring.targets.redis.enabled", "monitoring.targets.redis.enabled is true but redis.enabled is false: a target without its", DEFAULT_NOTE)] },
  { fixture: "values-dev.no-redis-no-connection.yaml", expected: [e("rule/connection", 1, 1, "app.connections.redis.existingSecret", "the app has no redis: this release does not run one, so name an existing Secret holding", DEFAULT_NOTE)] },
  { fixture: "values-dev.rollout-zero-surge-zero-unavailable.yaml", expected: [e("rule/rollout", 7, 5, "app.strategy.maxSurge", "app.strategy maxSurge and maxUnavailable are both 0: a rollout can never progress (the")] },
  { fixture: "values-prod.backup-architecture-mismatch.yaml", expected: [e("rule/backup-target", 141, 5, "backup.mongodb.architecture", "backup.mongodb.architecture is standalone but mongodb.architecture is replicaset (oplog")] },
  { fixture: "values-prod.backup-rdb-copy-not-allowed.yaml", expected: [e("rule/backup-target", 155, 7, "backup.redis.rdbCopy.enabled", "the Redis RDB copy needs redis.enabled and redis.networkPolicy.allowBackup (Redis admits")] },
  { fixture: "values-prod.hpa-max-below-min.yaml", expected: [e("rule/hpa-range", 29, 5, "app.autoscaling.maxReplicas", "app.autoscaling.maxReplicas 2 is below minReplicas 3: the API server refuses such a")] },
  { fixture: "values-prod.pdb-min-available-at-hpa-min.yaml", expected: [e("rule/pdb-satisfiable", 34, 5, "app.pdb.minAvailable", "app.pdb.minAvailable 3 needs more than the 3 replica(s) the app may run")] },
  { fixture: "values-prod.prometheus-cpu-over-limitrange.yaml", expected: [e("rule/limit-range", 98, 9, "monitoring.prometheus.resources.limits.cpu", "monitoring.prometheus.resources.limits.cpu 2500m is above limitRange.max.cpu 2: the")] },
  { fixture: "values-prod.vpa-recreate-with-hpa.yaml", expected: [e("rule/vpa-hpa", 37, 5, "app.vpa.updateMode", "app.vpa.updateMode Recreate with the HPA on: both act on CPU and memory and fight; use")] },
  { fixture: "values-prod.exporter-floating-tag.yaml", expected: [e("rule/image-pinned", 85, 7, "redis.metrics.image.tag", "image docker.io/oliver006/redis_exporter:v1.67 is not pinned: prod runs every image at a full version")] },
  { fixture: "values-dev.ipblock-except-outside-cidr.yaml", expected: [e("rule/ipblock-except", 12, 11, "app.networkPolicy.externalEgress.except[1]", "app.networkPolicy.externalEgress.except[1] 192.168.0.0/16 is not inside app.networkPolicy.externalEgress.cidr 10.0.0.0/8: the API server refuses")] },
  { fixture: "values-dev.vpa-max-below-min.yaml", expected: [e("rule/vpa-range", 15, 7, "app.vpa.maxAllowed.cpu", "app.vpa.maxAllowed.cpu 1 is below minAllowed.cpu 1500m: the VPA admission controller refuses")] },
  { fixture: "values-dev.limitrange-default-request-over-default.yaml", expected: [e("rule/limit-range-order", 7, 5, "limitRange.defaultRequest.cpu", "limitRange.defaultRequest.cpu 1 is above limitRange.default.cpu 500m: the API server")] },
  { fixture: "values-prod.limitrange-default-over-max.yaml", expected: [e("rule/limit-range-order", 164, 5, "limitRange.default.memory", "limitRange.default.memory 8Gi is above limitRange.max.memory 4Gi: the API server refuses")] },
  // The Istio mesh (global.mesh): only ambient under restricted Pod Security; peers the AuthorizationPolicies must place by namespace
  { fixture: "values-dev.mesh-sidecar.yaml", expected: [e("schema/const", 6, 5, "global.mesh.mode", "is not supported: only \"ambient\" runs under Pod Security \"restricted\" (the sidecar mode's istio-init container needs NET_ADMIN and NET_RAW", "(got \"sidecar\")")] },
  { fixture: "values-dev.mesh-prometheus-namespace-by-label.yaml", expected: [e("rule/mesh-peer-namespace", 10, 7, "mongodb.networkPolicy.prometheus.namespaceSelector", "mongodb.networkPolicy.prometheus.namespaceSelector must name one namespace by kubernetes.io/metadata.name when global.mesh.enabled")] },
  // Quota object counts (the staging failure on a real API server)
  { fixture: "values-prod.quota-claims-too-few.yaml", expected: [e("rule/quota-capacity", 170, 5, "resourceQuota.hard.persistentvolumeclaims", "quota persistentvolumeclaims 8 is below the 11 the release needs at full scale; raise it")] },
  { fixture: "values-prod.quota-secrets-too-few.yaml", expected: [e("rule/quota-capacity", 173, 5, "resourceQuota.hard.secrets", "quota secrets 10 is below the 16 the release needs at full scale; raise it to at least 16")] },
  { fixture: "values-prod.quota-storage-too-small.yaml", expected: [e("rule/quota-capacity", 169, 5, "resourceQuota.hard[\"requests.storage\"]", "quota requests.storage 100Gi is below the 160Gi the release needs at full scale; raise it")] },
  { fixture: "values-staging.quota-services-10.yaml", expected: [e("rule/quota-capacity", 82, 5, "resourceQuota.hard.services", "quota services 10 is below the 11 the release needs at full scale; raise it to at least")] },
  // Secrets from Vault (global.secrets.provider externalSecrets)
  { fixture: "values-dev.external-secrets-no-store.yaml", expected: [e("schema/minLength", 6, 5, "global.secrets.externalSecrets.store.name", "provider externalSecrets needs the store to read from: set global.secrets.externalSecrets.store.name", DEFAULT_NOTE)] },
  { fixture: "values-dev.external-secrets-store-kind.yaml", expected: [e("schema/enum", 8, 9, "global.secrets.externalSecrets.store.kind", "must be one of \"SecretStore\", \"ClusterSecretStore\" (got \"VaultStore\")")] },
  { fixture: "values-dev.external-secrets-no-remote-path.yaml", expected: [e("schema/required", 12, 11, "global.secrets.externalSecrets.credentials.redis.redis-password", "missing required key \"remotePath\"")] },
  { fixture: "values-dev.external-secrets-key-unmapped.yaml", expected: [e("rule/external-secret-keys", 10, 9, "global.secrets.externalSecrets.credentials.mongodb", "global.secrets.externalSecrets.credentials.mongodb maps no mongodb-replica-set-key: the Secret its ExternalSecret fills must hold every key")] },
  // YAML merge keys
  { fixture: "yaml.merge-key-alias-of-scalar.yaml", expected: [e("merge-key", 6, 7, "app", "merge key \"<<\" needs a mapping or an alias of one (&anchor on a mapping), got a number 2")] },
  { fixture: "yaml.merge-key-scalar.yaml", expected: [e("merge-key", 5, 7, "app", "merge key \"<<\" needs a mapping or an alias of one (&anchor on a mapping), got a number 3;")] },
  // Issue 25, class 6: free-form maps render what was not written - a number or boolean where Kubernetes stores a string
  // (one shared definition, definitions.schema.yaml#/$defs/kubeString, in every env, annotation, label and selector map)
  { fixture: "values-dev.env-octal-unquoted.yaml", expected: [e("ambiguous-number", 7, 12, "app.extraEnv.UMASK", "0022 is octal in YAML 1.1"), e("schema/type", 7, 5, "app.extraEnv.UMASK", "is a number in YAML, but Kubernetes stores a string here and helm reads 0022 as 18: write \"0022\"")] },
  { fixture: "values-dev.env-boolean-unquoted.yaml", expected: [e("schema/type", 7, 5, "app.extraEnv.FEATURE_RECOMMENDATIONS", "is a boolean in YAML, but Kubernetes stores a string here", "write \"true\"")] },
  { fixture: "values-dev.label-version-float.yaml", expected: [e("schema/type", 7, 5, "mongodb.podLabels.schema-version", "helm reads 1.10 as 1.1: write \"1.10\"")] },
  { fixture: "values-dev.annotation-port-number.yaml", expected: [e("schema/type", 7, 5, "backup.podAnnotations[\"prometheus.io/port\"]", "is a number in YAML, but Kubernetes stores a string here", "write \"9216\"")] },
  { fixture: "values-dev.node-selector-boolean.yaml", expected: [e("schema/type", 7, 5, "redis.nodeSelector.dedicated-cache", "is a boolean in YAML", "write \"true\"")] },
  { fixture: "values-dev.resource-attribute-number.yaml", expected: [e("schema/type", 8, 7, "app.tracing.resourceAttributes[\"build.id\"]", "helm reads 20261207 as 2.0261207e+07: write \"20261207\"")] },
  { fixture: "values-dev.sa-annotation-number.yaml", expected: [e("schema/type", 9, 7, "objectstore.serviceAccount.annotations[\"example.com/quota-gb\"]", "is a number in YAML", "write \"100\"")] },
  // Issue 25, class 4: durability - a chart volume declared to hold data the environment keeps (x-holds in the chart schema,
  // x-keeps in the profile; scripts/lib/durability.ts) refuses an emptyDir there
  { fixture: "values-prod.prometheus-emptydir.yaml", expected: [e("profile/prod", 100, 7, "monitoring.prometheus.persistence.enabled", "must be true (got false) - prod policy: prod keeps the Prometheus TSDB", "monitoring.prometheus.persistence holds them, and without a volume they sit on an emptyDir")] },
  { fixture: "values-prod.redis-emptydir.yaml", expected: [e("profile/prod", 78, 5, "redis.persistence.enabled", "must be true (got false) - prod policy: prod keeps the Redis AOF and RDB files")] },
  { fixture: "values-staging.objectstore-emptydir-backups.yaml", expected: [e("profile/staging", 119, 5, "objectstore.persistence.enabled", "staging policy: staging keeps the MongoDB backups uploaded to MinIO"), e("profile/staging", 119, 5, "objectstore.persistence.enabled", "staging policy: staging keeps the app's static files in MinIO")] },
  { fixture: "values-staging.mongodb-emptydir.yaml", expected: [e("profile/staging", 58, 5, "mongodb.persistence.enabled", "staging policy: staging keeps the MongoDB data files")] },
  // Issue 25, class 3: availability - PDBs that would let a drain break the topology's quorum, rollouts that take the app below its PDB or that the API server refuses
  { fixture: "values-prod.mongodb-pdb-majority.yaml", expected: [e("rule/pdb-quorum", 69, 5, "mongodb.pdb.maxUnavailable", "mongodb.pdb.maxUnavailable 2 lets 2 of the 3 replica set members (mongodb.replicaCount) go at once", "set it to at most 1")] },
  { fixture: "values-dev.mongodb-pdb-majority-of-5.yaml", expected: [e("rule/pdb-quorum", 9, 5, "mongodb.pdb.maxUnavailable", "lets 3 of the 5 replica set members", "needs 3 of them up", "set it to at most 2")] },
  { fixture: "values-prod.redis-pdb-shard.yaml", expected: [e("rule/pdb-quorum", 80, 5, "redis.pdb.maxUnavailable", "a primary and its 1 replica(s) (redis.cluster.replicasPerMaster) may then go together", "set it to at most 1")] },
  { fixture: "values-dev.redis-pdb-primaries-majority.yaml", expected: [e("rule/pdb-quorum", 11, 5, "redis.pdb.maxUnavailable", "2 primaries may then go together, and a failover needs a majority of the 3 primaries (redis.cluster.masters)", "set it to at most 1")] },
  { fixture: "values-prod.rollout-unavailable-all.yaml", expected: [e("rule/rollout-availability", 37, 5, "app.strategy.maxUnavailable", "app.strategy.maxUnavailable 100% lets a rollout take 3 of the 3 pod(s) (autoscaling.minReplicas) down at once, leaving 0, below app.pdb.minAvailable 2")] },
  { fixture: "values-dev.rollout-unavailable-over-100.yaml", expected: [e("schema/pattern", 8, 5, "app.strategy.maxUnavailable", "is not a bound the API server accepts for maxUnavailable - a count, or a percentage of at most 100% (got \"150%\")")] },
  // Issue 25, class 2: two charts that must agree - a fact each carries (rule-table shared-fact: the consumer's copy against the
  // provider's value, reported at the side the file sets) and a key read from another chart's Secret (its documented keys)
  { fixture: "values-dev.app-port-monitoring-stale.yaml", expected: [e("rule/shared-fact", 6, 3, "app.containerPort", "monitoring.targets.app.port is 3000 but app.containerPort is 8080: Prometheus's NetworkPolicy egress opens the")] },
  { fixture: "values-dev.mongodb-metrics-port-stale.yaml", expected: [e("rule/shared-fact", 7, 5, "mongodb.metrics.port", "monitoring.targets.mongodb.port is 9216 but mongodb.metrics.port is 9300: Prometheus's NetworkPolicy egress op")] },
  { fixture: "values-dev.redis-target-port-wrong.yaml", expected: [e("rule/shared-fact", 8, 7, "monitoring.targets.redis.port", "monitoring.targets.redis.port is 6379 but the port its chart fixes is 9121: Prometheus's NetworkPolicy egress ")] },
  { fixture: "values-dev.jaeger-scraped-not-running.yaml", expected: [e("rule/shared-fact", 15, 7, "monitoring.targets.tracing.jaeger", "monitoring.targets.tracing.jaeger is true but tracing.jaeger.enabled is false: Prometheus scrapes (and alerts ")] },
  { fixture: "values-dev.restore-password-key-unknown.yaml", expected: [e("rule/secret-key", 17, 5, "backup.restore.passwordKey", "backup.restore.passwordKey root-password is not a key of the mongodb chart's Secret, which it reads while back")] },
  // Issue 25, class 5: the environment's promises - point-in-time restore needs the incremental backups, a certificate browsers
  // trust, backups encrypted in transit (profile rules with their seed reasons)
  { fixture: "values-prod.incremental-backups-off.yaml", expected: [e("profile/prod", 151, 5, "backup.incremental.enabled", "must be true (got false) - prod policy: prod takes incremental backups every 6 hours beside the daily full dum")] },
  { fixture: "values-prod.issuer-letsencrypt-staging.yaml", expected: [e("profile/prod", 43, 5, "app.ingress.clusterIssuer", "names a staging, test, self-signed or private CA issuer (got \"letsencrypt-staging\") - prod policy: prod serves")] },
  { fixture: "values-prod.issuer-selfsigned.yaml", expected: [e("profile/prod", 43, 5, "app.ingress.clusterIssuer", "names a staging, test, self-signed or private CA issuer (got \"selfsigned-issuer\") - prod policy: prod serves a")] },
  { fixture: "values-prod.acme-staging-directory.yaml", expected: [e("profile/prod", 39, 5, "app.clusterIssuer.server", "is a staging ACME directory (got \"https://acme-staging-v02.api.letsencrypt.org/directory\") - prod policy: prod")] },
  { fixture: "values-prod.backup-endpoint-http.yaml", expected: [e("profile/prod", 152, 5, "backup.storage.endpoint", "is not an https:// endpoint (got \"http://s3.eu-west-1.storage.example.com\") - prod policy: prod encrypts backu")] },
  { fixture: "values-dev.restore-pitr-without-incremental.yaml", expected: [e("schema/const", 15, 5, "backup.incremental.enabled", "restore.pointInTime replays the incremental oplog slices up to that time, and incremental.enabled false takes ")] },
  // Issue 25, class 1: what a program's own check refuses - Alertmanager's matcher and duration grammar (prometheus/common
  // model.ParseDuration, alertmanager pkg/labels) over the whole routing tree (a recursive definition), its strict keys,
  // unique receiver names; amtool check-config and promtool run on every render in the lint stage (scripts/lib/program-checks.ts)
  { fixture: "values-dev.alertmanager-duration-words.yaml", expected: [e("schema/pattern", 13, 13, "monitoring.alertmanager.config.route.routes[0].group_wait", "is not a duration Prometheus and Alertmanager read - a number with a unit (ms, s, m, h, d, w, y), several larg")] },
  { fixture: "values-dev.alertmanager-matcher-unclosed-quote.yaml", expected: [e("schema/pattern", 13, 17, "monitoring.alertmanager.config.route.routes[0].matchers[0]", "is not an Alertmanager matcher - a label name, =, !=, =~ or !~, and a value in double quotes (severity=\"critic")] },
  { fixture: "values-dev.alertmanager-duplicate-receiver.yaml", expected: [e("rule/alertmanager-duplicate-name", 13, 11, "monitoring.alertmanager.config.receivers[2].name", "monitoring.alertmanager.config.receivers[2] repeats the name \"default\" of receivers[0]: Alertmanager refuses t")] },
  { fixture: "values-dev.alertmanager-nested-route-unknown-key.yaml", expected: [e("schema/additionalProperties", 14, 17, "monitoring.alertmanager.config.route.routes[0].routes[0].repeat", "unknown key \"repeat\" (not in the schema: a typo?)")] },
  { fixture: "values-dev.scrape-interval-units-reversed.yaml", expected: [e("schema/pattern", 8, 7, "monitoring.targets.app.interval", "is not a duration Prometheus and Alertmanager read - a number with a unit (ms, s, m, h, d, w, y), several larg")] },
  { fixture: "values-dev.alertmanager-repeat-interval-zero.yaml", expected: [e("schema/not", 10, 9, "monitoring.alertmanager.config.route.repeat_interval", "is zero, which Alertmanager refuses here (group_interval and repeat_interval cannot be zero); give it a durati")] },
  { fixture: "values-dev.alertmanager-inhibit-matcher-quote.yaml", expected: [e("schema/pattern", 13, 29, "monitoring.alertmanager.config.inhibit_rules[0].source_matchers[0]", "is not an Alertmanager matcher - a label name, =, !=, =~ or !~, and a value in double quotes (severity=\"critic")] },
  // Issue 25, class 1 (mongod): what createIndex refuses for the indexes the init script passes it; class 6: a number where an image tag belongs
  { fixture: "values-dev.mongodb-index-system-collection.yaml", expected: [e("schema/not", 8, 9, "mongodb.initdb.indexes[0].collection", "is a collection name mongod refuses - letters, digits, \"_\", \".\" and \"-\", starting with a letter or \"_\", and no")] },
  { fixture: "values-dev.mongodb-ttl-compound.yaml", expected: [e("schema/maxItems", 9, 9, "mongodb.initdb.indexes[0].keys", "has more than one key, but options.expireAfterSeconds makes a TTL index, which mongod allows on a single field")] },
  { fixture: "values-dev.mongodb-unique-hashed.yaml", expected: [e("schema/not", 9, 9, "mongodb.initdb.indexes[0].keys", "has a hashed key, but options.unique is true: mongod refuses a unique hashed index (a hash cannot guarantee un")] },
  { fixture: "values-dev.mongodb-index-name-id.yaml", expected: [e("schema/not", 12, 11, "mongodb.initdb.indexes[0].options.name", "is the name of the _id index, which mongod reserves; choose another name (got \"_id_\")")] },
  { fixture: "values-dev.mongodb-index-dollar-field.yaml", expected: [e("schema/pattern", 10, 13, "mongodb.initdb.indexes[0].keys[0].$status", "key name \"$status\" is not a field mongod indexes - a field name or dotted path, not starting with \"$\" or \".\"")] },
  { fixture: "values-dev.image-tag-float.yaml", expected: [e("schema/type", 7, 5, "redis.image.tag", "is a number in YAML, but Kubernetes stores a string here and helm reads 7.10 as 7.1: write \"7.10\"")] },
  // Issue 25, class 5: the backup cadence prod promises (rule backup-cadence, the cron grammar's longest gap)
  { fixture: "values-prod.incremental-every-12h.yaml", expected: [e("rule/backup-cadence", 151, 5, "backup.incremental.schedule", "backup.incremental.schedule \"0 */12 * * *\" leaves up to 720 minutes between two runs, but prod promises increm")] },
  // Issue 25, class 1 (the OpenTelemetry Collector): its memory_limiter's own Validate (rule collector-memory-limiter)
  { fixture: "values-dev.collector-spike-over-limit.yaml", expected: [e("rule/collector-memory-limiter", 10, 7, "tracing.collector.memoryLimiter.spikeLimitPercentage", "tracing.collector.memoryLimiter.spikeLimitPercentage 45 is not below limitPercentage 40: the memory_limiter of")] },
];
