// The one table of the cross-field rules that both `validate` (scripts/lib/rules.ts)
// and the charts' templates enforce: each rule's id, its message (with {placeholders})
// and its constants. scripts/generate.ts writes charts/common/templates/_rules.tpl
// from it, whose "common.rules.fail" is the only way a template may fail; the
// validator builds its messages from the same entries. test/rule-twins.test.ts
// fails when a template fail has no twin here or in RULES.

/**
 * The classes of bad values (issue 25), in the order README "### validate" lists them:
 * what a program refuses, two charts that must agree, availability, durability, the
 * environment's promises, free-form maps; then what Kubernetes refuses and what only the
 * live cluster can tell.
 */
export const RULE_CLASSES = {
  program: "A program's own configuration check refuses it",
  agreement: 'Two charts that must agree',
  availability: 'Availability: quorum, disruption budgets, rollouts, capacity',
  durability: 'Durability: data the environment keeps on a volume',
  promises: "The environment's promises",
  strings: 'Free-form maps: values Kubernetes stores as strings',
  kubernetes: 'What the API server or an admission controller refuses',
  cluster: 'What only the live cluster can tell (checked at install time)',
} as const;

export type RuleClass = keyof typeof RULE_CLASSES;

export interface RuleSpec {
  /** Which class of bad values the rule refuses (RULE_CLASSES; README "### validate" groups by it). */
  class: RuleClass;
  /** The message, cause first, then the fix; `{name}` is filled from the rule's arguments. */
  message: string;
  /** Numbers and lists both implementations read (never written twice). */
  constants?: Record<string, number | string[] | Record<string, string> | Record<string, string[]>>;
  /**
   * Who refuses the values before the template would: `rule` (the validator's RULES entry of
   * the same id, also checked by the template) or `schema` (values.schema.json; the template's
   * fail is a guard that valid values never reach); `cluster` rules depend on the live cluster
   * (lookup, served APIs), so only the render against that cluster can check them.
   */
  twin: 'rule' | 'schema' | 'cluster';
  /** For a `schema` twin: the keys whose schema pattern makes the template's guard unreachable. */
  schemaKeys?: string[];
  /** For a `cluster` rule: why validate cannot check it (it depends on the live cluster, which an offline validator never sees). */
  cluster?: string;
}

export const RULE_TABLE = {
  'request-limit': {
    twin: 'rule',
    class: 'kubernetes',
    message: '{path}.requests.{resource} {request} is above {path}.limits.{resource} {limit}: Kubernetes refuses a container whose request exceeds its limit; lower the request or raise the limit',
  },
  'quota-capacity': {
    twin: 'rule',
    class: 'availability',
    message: 'quota {key} {hard} is below the {needed} the release needs at full scale; raise it to at least {needed} {fix}. Biggest part: {biggest}{rest}',
    constants: {
      // the helm test pods (charts/techshop/templates/tests/pod.yaml, monitoring's test-health.yaml)
      testPodRequestsMillicores: 10,
      testPodRequestsBytes: 16 * 2 ** 20,
      testPodLimitsMillicores: 100,
      testPodLimitsBytes: 32 * 2 ** 20,
      // helm upgrade --history-max defaults to 10: the release's revisions are Secrets in its namespace
      helmHistory: 10,
      fixes: {
        'requests.cpu': 'or lower the requests or the replicas',
        'requests.memory': 'or lower the requests or the replicas',
        'limits.cpu': 'or lower the limits or the replicas',
        'limits.memory': 'or lower the limits or the replicas',
        pods: 'or lower the replicas',
        services: 'or turn off a component or its metrics Service',
        secrets: 'or name fewer Secrets',
        configmaps: 'or turn off a component',
        persistentvolumeclaims: 'or turn off persistence of a component',
        'requests.storage': 'or shrink the volumes',
      },
    },
  },
  'pdb-satisfiable': {
    twin: 'rule',
    class: 'availability',
    message: 'app.pdb.minAvailable {minAvailable} needs more than the {minimum} replica(s) the app may run ({source}): such a PDB blocks every node drain; lower minAvailable or raise the replicas',
  },
  'hpa-range': {
    twin: 'rule',
    class: 'kubernetes',
    message: 'app.autoscaling.maxReplicas {max} is below minReplicas {min}: the API server refuses such a HorizontalPodAutoscaler; raise maxReplicas or lower minReplicas',
  },
  rollout: {
    twin: 'rule',
    class: 'availability',
    message: 'app.strategy maxSurge and maxUnavailable are both 0: a rollout can never progress (the API server refuses it); allow a surge (1 or 25%)',
  },
  'pdb-quorum': {
    twin: 'rule',
    class: 'availability',
    message: '{path} {max} lets {max} {what} go at once in a node drain, but {needs}: the PodDisruptionBudget must keep that, so set it to at most {tolerable} (or change {topology})',
  },
  'rollout-availability': {
    twin: 'rule',
    class: 'availability',
    message: 'app.strategy.maxUnavailable {maxUnavailable} lets a rollout take {down} of the {replicas} pod(s) ({source}) down at once, leaving {left}, below app.pdb.minAvailable {minAvailable} (a Deployment rollout does not consult the PDB); lower maxUnavailable to at most {tolerable} and let maxSurge carry the rollout',
  },
  'shared-fact': {
    twin: 'rule',
    class: 'agreement',
    message: '{consumer} is {got} but {provider} is {want}: {why}; the two charts each carry this fact, so set {consumer} to {want}',
    constants: {
      // Facts two charts of the umbrella each carry (a subchart cannot read a sibling's values): the consumer's
      // copy → the provider's value (a key path, or a number the provider chart fixes). Checked while both
      // sides are on (their chart, and an `enabled` beside either key).
      facts: {
        'monitoring.targets.app.port': 'app.containerPort',
        'monitoring.targets.mongodb.port': 'mongodb.metrics.port',
        'monitoring.targets.redis.port': '9121',
        'monitoring.targets.tracing.jaeger': 'tracing.jaeger.enabled',
      },
      why: {
        'monitoring.targets.app.port': "Prometheus's NetworkPolicy egress opens the consumer's port, and the app listens on the provider's: scraping is dropped and the app alerts fire as down",
        'monitoring.targets.mongodb.port': "Prometheus's NetworkPolicy egress opens the consumer's port, and the exporter listens on the provider's: scraping is dropped and the MongoDB alerts fire as down",
        'monitoring.targets.redis.port': "Prometheus's NetworkPolicy egress opens the consumer's port, and the Redis exporter listens on 9121 (fixed in charts/redis): scraping is dropped and the Redis alerts fire as down",
        'monitoring.targets.tracing.jaeger': 'Prometheus scrapes (and alerts on) a Jaeger that does not run, or misses one that does',
      },
    },
  },
  'secret-key': {
    twin: 'rule',
    class: 'agreement',
    message: "{path} {key} is not a key of the {owner} chart's Secret, which it reads while {source} is empty: the pod never starts (a missing Secret key); use one of {keys}",
  },
  'vpa-hpa': {
    twin: 'rule',
    class: 'kubernetes',
    message: 'app.vpa.updateMode {mode} with the HPA on: both act on CPU and memory and fight; use "Off" (recommendations only) or turn autoscaling off',
  },
  'ipblock-except': {
    twin: 'rule',
    class: 'kubernetes',
    message: '{path}.except[{index}] {except} is not inside {path}.cidr {cidr}: the API server refuses an ipBlock whose except is not a strict subset of its cidr (inside it, with a longer prefix); remove it or widen the cidr',
  },
  'vpa-range': {
    twin: 'rule',
    class: 'kubernetes',
    message: 'app.vpa.maxAllowed.{resource} {max} is below minAllowed.{resource} {min}: the VPA admission controller refuses such a VerticalPodAutoscaler; raise maxAllowed or lower minAllowed',
  },
  connection: {
    twin: 'rule',
    class: 'agreement',
    message: 'the app has no {component}: this release does not run one, so name an existing Secret holding the connection string in app.connections.{component}.existingSecret',
  },
  'monitoring-targets': {
    twin: 'rule',
    class: 'agreement',
    message: 'monitoring.targets.{component}.enabled is {scraped} but {component}.enabled is {runs}: a target without its database fires "down" forever, a database without one goes unwatched; set them alike',
  },
  'tracing-collector': {
    twin: 'rule',
    class: 'agreement',
    message: "app.tracing.enabled sends traces to this release's collector, but tracing.enabled is false: set tracing.enabled to true, or app.tracing.endpoint to another OTLP endpoint",
  },
  'objectstore-consumer': {
    twin: 'rule',
    class: 'agreement',
    message: "{path} uses this release's MinIO, but objectstore.enabled is false: set objectstore.enabled to true, or {fix}",
  },
  'backup-target': {
    twin: 'rule',
    class: 'agreement',
    message: '{problem}: the backup chart reads these facts from its own values, not from the other charts, so they must agree',
  },
  'limit-range': {
    twin: 'rule',
    class: 'kubernetes',
    message: '{path}.limits.{resource} {limit} is above limitRange.max.{resource} {max}: the LimitRange admission refuses the pod; lower the limit or raise limitRange.max.{resource}',
  },
  'statefulset-claim-size': {
    twin: 'cluster',
    class: 'cluster',
    cluster: 'compares with the live StatefulSet (lookup), which exists only on the cluster',
    message:
      '{path}: {live} → {size} is refused: Kubernetes does not allow changing the volumeClaimTemplates of StatefulSet {name}. To grow the volumes: kubectl -n {namespace} patch pvc {claim}-{name}-<ordinal> -p \'{"spec":{"resources":{"requests":{"storage":"{size}"}}}}\' for each member (the StorageClass must allow expansion), then kubectl -n {namespace} delete statefulset {name} --cascade=orphan (the pods keep running), then run this upgrade again. To keep the volumes as they are, set {path} back to {live}.',
  },
  'mesh-peer-namespace': {
    twin: 'rule',
    class: 'agreement',
    message: '{path}.namespaceSelector must name one namespace by kubernetes.io/metadata.name when global.mesh.enabled: the AuthorizationPolicy admits this peer by the namespace its mTLS identity carries, and a selector that is empty (every namespace) or matches other labels names none; select the peer\'s namespace by name',
    constants: {
      // the peers from values the charts' flows admit (charts/<chart>/templates/_flows.tpl): 'all' renders an
      // empty namespaceSelector (every namespace), 'this' leaves it out (this namespace, which the mesh can name)
      peers: {
        'app.networkPolicy.ingressController': 'all',
        'app.networkPolicy.prometheus': 'this',
        'mongodb.networkPolicy.prometheus': 'this',
        'redis.networkPolicy.prometheus': 'this',
        'monitoring.networkPolicy.grafanaIngress': 'all',
        'tracing.networkPolicy.prometheus': 'this',
        'tracing.networkPolicy.grafana': 'this',
      },
    },
  },
  'image-pinned': {
    class: 'promises',
    twin: 'rule',
    message:
      'image {image} is not pinned: prod runs every image at a full version (major.minor.patch, a "v" prefix and a suffix such as -alpine allowed, or MinIO\'s RELEASE.<date>T<time>Z) or a digest (sha256:…), never a floating tag such as latest, 8 or 7.2, so rollbacks and audits know what runs; give that image block a full version tag or a digest',
    constants: {
      // The ONE definition of a pinned tag: isPinned (scripts/lib/images.ts), the prod profile's
      // image tags (x-generated-pattern pinnedTag) and common.images.image read it.
      tagPattern: ['^v?[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+_-]+)?$', '^RELEASE\\.[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z$'],
      digestPattern: ['^sha256:[a-f0-9]{64}$'],
    },
  },
  'api-not-served': {
    twin: 'cluster',
    class: 'cluster',
    cluster: 'depends on the APIs (CRDs) the target cluster serves',
    message: '{path}: the cluster does not serve {apiVersion} {kind}. Install {provider} (its CRDs) first, or turn {path} off. Rendering without a cluster (helm template, GitOps)? Pass --api-versions {apiVersion}/{kind}.',
  },
  'namespace-pod-security': {
    twin: 'cluster',
    class: 'cluster',
    cluster: 'reads the labels of the live namespace (lookup), which exists only on the cluster',
    message: '{path}: namespace {namespace} enforces Pod Security {level}, but the log agent mounts the node\'s /var/log/pods (hostPath) as uid 0, which only "privileged" admits. Label it: kubectl label namespace {namespace} pod-security.kubernetes.io/enforce=privileged pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted --overwrite',
  },
  'limit-range-order': {
    twin: 'rule',
    class: 'kubernetes',
    message: 'limitRange.{lower}.{resource} {value} is above limitRange.{upper}.{resource} {bound}: the API server refuses a LimitRange unless defaultRequest <= default <= max; lower it or raise limitRange.{upper}.{resource}',
  },
  'credential-source': {
    twin: 'rule',
    class: 'agreement',
    message: '{path}: set either an inline value or {source}, not both (which one would be live is a guess); remove the inline value',
  },
  'external-secret-keys': {
    twin: 'rule',
    class: 'agreement',
    message: 'global.secrets.externalSecrets.credentials.{credential} maps no {key}: the Secret its ExternalSecret fills must hold every key the charts read from it ({keys}); add {key} with its remotePath (and property) in Vault',
    constants: {
      // Per credential, the Secret keys its consumers read (the key names of the chart's own Secret).
      keys: {
        mongodb: ['mongodb-root-password', 'mongodb-password', 'mongodb-metrics-password', 'mongodb-backup-password', 'mongodb-replica-set-key'],
        redis: ['redis-password'],
        app: ['jwt-secret'],
        grafana: ['admin-user', 'admin-password'],
        backup: ['access-key-id', 'secret-access-key'],
        objectstore: ['access-key-id', 'secret-access-key', 'app-access-key-id', 'app-secret-access-key', 'backup-access-key-id', 'backup-secret-access-key'],
      },
    },
  },
  'redis-maxmemory': {
    twin: 'rule',
    class: 'program',
    message: 'redis.config.maxmemory {maxmemory} is above {percent}% of redis.resources.limits.memory {limit}: buffers and fork copy-on-write come on top, so the kernel kills redis before it evicts; lower maxmemory or raise the limit',
    constants: { percent: 80 },
  },
  'quantity-format': {
    twin: 'schema',
    class: 'kubernetes',
    schemaKeys: ['redis.config.maxmemory', 'app.resources.limits.memory', 'app.resources.requests.memory'],
    message: 'cannot read the size {value}: use a number with kb, mb or gb (redis) or a Kubernetes quantity (Ki, Mi, Gi)',
  },
  'mongodb-cache': {
    twin: 'rule',
    class: 'program',
    message: 'mongodb.wiredTigerCacheSizeGB {cache} is above {percent}% of mongodb.resources.limits.memory {limit}: connections, index builds and aggregations need the rest, so mongod is OOM-killed; lower the cache (about half of limit - 1Gi) or raise the limit',
    constants: { percent: 50 },
  },
  'prometheus-retention-size': {
    twin: 'rule',
    class: 'program',
    message: 'monitoring.prometheus.retention.size {size} is above {percent}% of its volume {volume}: the WAL and the head block are not counted in it, so the disk fills before retention deletes anything; lower retention.size or grow prometheus.persistence.size',
    constants: { percent: 90 },
  },
  'backup-alert-age': {
    twin: 'rule',
    class: 'program',
    message: 'monitoring.alerts.backup.maxAgeHours {hours} is not above the longest gap between two runs of backup.schedule "{schedule}" (every {gap} minutes at most): TechShopBackupNotSuccessful would fire between healthy backups; raise maxAgeHours above that gap or schedule backups more often',
  },
  'backup-cadence': {
    class: 'promises',
    twin: 'rule',
    message: '{path} "{schedule}" leaves up to {gap} minutes between two runs, but {env} promises {promise} (at most {max} minutes apart); schedule it more often',
    constants: {
      // environment:key → the longest gap (minutes) its promise allows, and the promise in words (seed 003)
      maxGapMinutes: { 'prod:backup.schedule': '1440', 'prod:backup.incremental.schedule': '360' },
      promises: { 'prod:backup.schedule': 'a full backup every day (seed 003)', 'prod:backup.incremental.schedule': 'incremental backups every 6 hours (seed 003), what point-in-time restore replays' },
    },
  },
  'collector-memory-limiter': {
    class: 'program',
    twin: 'rule',
    message: 'tracing.collector.memoryLimiter.spikeLimitPercentage {spike} is not below limitPercentage {limit}: the memory_limiter of the OpenTelemetry Collector refuses a spike_limit_percentage that is not smaller than its limit_percentage, so the collector never starts; lower the spike limit or raise the limit',
  },
  'alertmanager-reference': {
    twin: 'rule',
    class: 'program',
    message: 'monitoring.alertmanager.config.{path} names the {kind} "{name}", which config.{list} does not define: Alertmanager refuses the whole config and never starts; define it there or name one of: {known}',
  },
  'alertmanager-duplicate-name': {
    twin: 'rule',
    class: 'program',
    message: 'monitoring.alertmanager.config.{list}[{index}] repeats the name "{name}" of {list}[{first}]: Alertmanager refuses the whole config and never starts ("notification config name is not unique"); give each a name of its own',
  },
  'alertmanager-inline-credential': {
    twin: 'rule',
    class: 'program',
    message: 'monitoring.alertmanager.config.{path} is an inline credential: use {key}_file with a key of alertmanager.existingSecret (mounted at /etc/alertmanager/secrets); a webhook URL or key in values would end up in a ConfigMap',
    constants: {
      globalKeys: ['slack_api_url', 'smtp_auth_password', 'smtp_auth_secret', 'opsgenie_api_key', 'victorops_api_key', 'telegram_bot_token', 'webex_api_url'],
      receiverKeys: ['url', 'api_url', 'webhook_url', 'auth_password', 'auth_secret', 'routing_key', 'service_key', 'bot_token', 'api_key', 'token', 'password', 'credentials', 'api_secret'],
    },
  },
} as const satisfies Record<string, RuleSpec>;

export type RuleId = keyof typeof RULE_TABLE;

export function ruleConstant(id: RuleId, name: string): number | readonly string[] | Readonly<Record<string, string>> | Readonly<Record<string, readonly string[]>> {
  const value = (RULE_TABLE[id] as RuleSpec).constants?.[name];
  if (value === undefined) throw new Error(`rule ${id} has no constant ${name}`);
  return value;
}

/** A rule's message with its arguments (and constants) filled in: the same text the template fails with. */
export function ruleMessage(id: RuleId, args: Record<string, string | number>): string {
  const spec = RULE_TABLE[id] as RuleSpec;
  const all: Record<string, unknown> = { ...args };
  for (const [name, value] of Object.entries(spec.constants ?? {})) if (!(name in all) && typeof value !== 'object') all[name] = value;
  return spec.message.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => (name in all ? String(all[name]) : whole));
}

export const RULES_TEMPLATE_PATH = 'charts/common/templates/_rules.tpl';

/** charts/common/templates/_rules.tpl: the table as template helpers. */
export function rulesTemplate(mark: string): string {
  const messages: Record<string, string> = {};
  const constants: Record<string, unknown> = {};
  for (const [id, spec] of Object.entries(RULE_TABLE) as [string, RuleSpec][]) {
    messages[id] = spec.message;
    for (const [name, value] of Object.entries(spec.constants ?? {})) constants[`${id}.${name}`] = value;
  }
  const json = (value: unknown) => {
    const text = JSON.stringify(value);
    if (text.includes('`')) throw new Error('a rule message cannot contain a backtick (it ends the template string)');
    return text;
  };
  return `{{- /*
${mark} (source: scripts/lib/rule-table.ts)
The cross-field rules the validator and the templates share. A template
refuses values only through common.rules.fail, with a rule id of this table.
*/ -}}

{{/*
common.rules.fail: fails the render with the rule's message, its {placeholders}
filled from .args, and the rule id.
Usage: {{ include "common.rules.fail" (dict "rule" "redis-maxmemory" "args" (dict "maxmemory" "400mb" "limit" "512Mi")) }}
*/}}
{{- define "common.rules.fail" -}}
{{- $message := index (\`${json(messages)}\` | fromJson) .rule -}}
{{- $args := merge (dict) (.args | default dict) (include "common.rules.constants" .rule | fromJson) -}}
{{- range $name, $value := $args -}}
{{- $message = replace (printf "{%s}" $name) (toString $value) $message -}}
{{- end -}}
{{- fail (printf "%s [rule %s]" $message .rule) -}}
{{- end -}}

{{/*
common.rules.constants: a rule's constants as JSON ({"percent": 80}).
Usage: {{ $c := include "common.rules.constants" "redis-maxmemory" | fromJson }}
*/}}
{{- define "common.rules.constants" -}}
{{- $all := \`${json(constants)}\` | fromJson -}}
{{- $out := dict -}}
{{- range $key, $value := $all -}}
{{- if hasPrefix (printf "%s." $) $key -}}
{{- $_ := set $out (trimPrefix (printf "%s." $) $key) $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
`;
}
