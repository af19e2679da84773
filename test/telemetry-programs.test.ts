// The tracing path on real programs: the OpenTelemetry Collector distribution
// and Jaeger v2 built by .ci/install-telemetry-tools.sh run with the configs
// charts/tracing renders for dev (listeners on ${env:POD_IP}, which is
// 127.0.0.1 here; ports moved to free ones; the one cluster DNS name, Jaeger's
// Service, pointed at the local Jaeger). A span posted as OTLP/HTTP JSON to the
// collector must come back from Jaeger's query API, and the metric names the
// monitoring chart's tracing alerts use must exist on the running collector.
// The log agent of charts/logging runs on its rendered dev config too (the pod
// log directory and the Elasticsearch Service moved to local ones): a JSON line
// appended to a pod log file must arrive through Elasticsearch's _bulk API,
// and the retention Job's script (real curl) must PUT the ILM policy and index
// template to a local stand-in for Elasticsearch's REST API.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load as loadYaml } from 'js-yaml';
import { dump } from 'js-yaml';
import { run } from '../scripts/lib/exec.ts';
import { cacheDir, chartDir, environments } from '../scripts/lib/paths.ts';
import { findObject, renderChart, type K8sObject } from '../scripts/lib/render.ts';
import { helms, renderEnv } from './helpers/render.ts';
import { freePort } from '../scripts/lib/net.ts';
import { waitFor } from './helpers/redis-server.ts';
import { HOST, parseMetrics, startProgram, stopPrograms, telemetryBinary, type Program } from './helpers/telemetry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const helm = helms[0]!;
// Debian's busybox-static (the test tier's apt packages): the helm test pod's image is busybox
const busybox = '/bin/busybox';
if (!existsSync(busybox)) throw new Error(`${busybox} missing: bash .ci/install-tools.sh --tests installs busybox-static`);
const POD_IP = '${env:POD_IP}';

function renderedConfig(objects: K8sObject[], name: string): Any {
  return loadYaml(findObject(objects, 'ConfigMap', name).data?.['config.yaml'] ?? '');
}

/** Moves a rendered `${env:POD_IP}:<port>` listener to a free port; fails when the rendered value is something else. */
function moveListener(holder: Any, key: string, renderedPort: number, port: number): void {
  expect(holder[key], `rendered ${key}`).toBe(`${POD_IP}:${renderedPort}`);
  holder[key] = `${POD_IP}:${port}`;
}

/** The programs' own Prometheus endpoint (service.telemetry), moved to a free port. */
function moveTelemetry(config: Any, port: number): void {
  const prometheus = config.service.telemetry.metrics.readers[0].pull.exporter.prometheus;
  expect(prometheus).toEqual({ host: POD_IP, port: 8888 });
  prometheus.port = port;
}

async function metrics(port: number) {
  const response = await fetch(`http://${HOST}:${port}/metrics`);
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/** A span as the app's SDK would send it over OTLP/HTTP (JSON encoding). */
function otlpSpan(traceId: string, spanId: string, name: string) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'techshop-app'), str('service.version', '1.4.2'), str('deployment.environment', 'dev')] },
        scopeSpans: [
          {
            scope: { name: 'telemetry-programs-test' },
            spans: [
              {
                traceId,
                spanId,
                name,
                kind: 2,
                startTimeUnixNano: String(now - 5_000_000n),
                endTimeUnixNano: String(now),
                attributes: [str('http.request.method', 'GET'), str('url.path', '/api/products')],
                status: {},
              },
            ],
          },
        ],
      },
    ],
  };
}

async function postSpan(port: number, body: unknown): Promise<void> {
  const response = await fetch(`http://${HOST}:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, await response.text()).toBe(200);
}

describe('the collector and Jaeger on the configs charts/tracing renders', () => {
  let dir: string;
  let objects: K8sObject[];
  const ports: Record<string, number> = {};
  let jaeger: Program;
  let collector: Program;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telemetry-'));
    objects = await renderEnv(helm, 'dev');
    for (const name of ['jaegerOtlp', 'jaegerQuery', 'jaegerQueryGrpc', 'jaegerHealth', 'jaegerMetrics', 'otlpGrpc', 'otlpHttp', 'health', 'metrics']) ports[name] = await freePort();

    const jaegerConfig = renderedConfig(objects, 'shop-jaeger');
    moveListener(jaegerConfig.receivers.otlp.protocols.grpc, 'endpoint', 4317, ports.jaegerOtlp!);
    moveListener(jaegerConfig.extensions.jaeger_query.http, 'endpoint', 16686, ports.jaegerQuery!);
    moveListener(jaegerConfig.extensions.jaeger_query.grpc, 'endpoint', 16685, ports.jaegerQueryGrpc!);
    moveListener(jaegerConfig.extensions.healthcheckv2, 'endpoint', 13133, ports.jaegerHealth!);
    moveTelemetry(jaegerConfig, ports.jaegerMetrics!);
    jaeger = await startProgram('jaeger', jaegerConfig, { dir: join(dir, 'jaeger'), healthPort: ports.jaegerHealth!, ports: [ports.jaegerOtlp!, ports.jaegerQuery!, ports.jaegerQueryGrpc!, ports.jaegerHealth!, ports.jaegerMetrics!] });

    const config = renderedConfig(objects, 'shop-otel-collector');
    moveListener(config.receivers.otlp.protocols.grpc, 'endpoint', 4317, ports.otlpGrpc!);
    moveListener(config.receivers.otlp.protocols.http, 'endpoint', 4318, ports.otlpHttp!);
    moveListener(config.extensions.healthcheckv2, 'endpoint', 13133, ports.health!);
    moveTelemetry(config, ports.metrics!);
    // the one cluster DNS name: Jaeger's Service
    expect(config.exporters['otlp/jaeger'].endpoint).toBe('shop-jaeger:4317');
    config.exporters['otlp/jaeger'].endpoint = `${HOST}:${ports.jaegerOtlp}`;
    collector = await startProgram('otelcol', config, { dir: join(dir, 'collector'), healthPort: ports.health!, ports: [ports.otlpGrpc!, ports.otlpHttp!, ports.health!, ports.metrics!] });
  });

  afterAll(async () => {
    await stopPrograms();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a span posted to the collector is found through Jaeger’s query API', async () => {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    await postSpan(ports.otlpHttp!, otlpSpan(traceId, spanId, 'GET /api/products'));
    // the batch processor waits up to its rendered timeout (5s) before exporting
    const trace = await waitFor(
      `trace ${traceId} in Jaeger`,
      async () => {
        const response = await fetch(`http://${HOST}:${ports.jaegerQuery}/api/traces/${traceId}`);
        if (response.status !== 200) return undefined;
        const body = (await response.json()) as Any;
        return body.data?.[0];
      },
      60_000,
      500,
    );
    expect(trace.traceID).toBe(traceId);
    expect(trace.spans).toHaveLength(1);
    expect(trace.spans[0].spanID).toBe(spanId);
    expect(trace.spans[0].operationName).toBe('GET /api/products');
    const process = trace.processes[trace.spans[0].processID];
    expect(process.serviceName).toBe('techshop-app');
    expect(process.tags).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'service.version', value: '1.4.2' })]));
    // Jaeger knows the service (what Grafana's Jaeger data source lists)
    const services = (await (await fetch(`http://${HOST}:${ports.jaegerQuery}/api/services`)).json()) as Any;
    expect(services.data).toContain('techshop-app');
    // and the collector counts it as received and sent
    const m = await metrics(ports.metrics!);
    expect(m.get('otelcol_receiver_accepted_spans_total')?.reduce((a, s) => a + s.value, 0)).toBeGreaterThanOrEqual(1);
    expect(m.get('otelcol_exporter_sent_spans_total')?.find((s) => s.labels.includes('exporter="otlp/jaeger"'))?.value).toBeGreaterThanOrEqual(1);
    expect(collector.output()).not.toMatch(/"level":"error"/);
    expect(jaeger.output()).not.toMatch(/"level":"error"/);
  });

  it('the chart\'s helm test pod, its script run by busybox (the image\'s shell and wget), finds its own span in Jaeger; it fails when the collector does not answer', async () => {
    const pod = findObject(objects, 'Pod', 'shop-tracing-test');
    const [container] = pod.spec.containers;
    const env: Record<string, string> = Object.fromEntries(container.env.map((e: Any) => [e.name, e.value]));
    // the two cluster DNS names: the collector's and Jaeger's Services
    expect(env).toEqual({ COLLECTOR_URL: 'http://shop-otel-collector:4318', JAEGER_URL: 'http://shop-jaeger:16686' });
    const [shell, flags, script] = container.command;
    expect([shell, flags]).toEqual(['sh', '-ec']);
    // only busybox applets on PATH, as in the image
    const bin = join(dir, 'busybox-bin');
    mkdirSync(bin, { recursive: true });
    for (const applet of ['sh', 'wget', 'od', 'tr', 'grep', 'date', 'sleep']) symlinkSync(busybox, join(bin, applet));
    const runScript = (collectorUrl: string) =>
      run(join(bin, 'sh'), ['-ec', script], { env: { PATH: bin, COLLECTOR_URL: collectorUrl, JAEGER_URL: `http://${HOST}:${ports.jaegerQuery}` }, timeoutMs: 90_000 });
    const ok = await runScript(`http://${HOST}:${ports.otlpHttp}`);
    expect(ok.code, `${ok.stdout}${ok.stderr}`).toBe(0);
    const traceId = /trace ([0-9a-f]{32}) found in Jaeger/.exec(ok.stdout)?.[1];
    expect(traceId).toBeDefined();
    const found = (await (await fetch(`http://${HOST}:${ports.jaegerQuery}/api/traces/${traceId}`)).json()) as Any;
    expect(found.data[0].processes[found.data[0].spans[0].processID].serviceName).toBe('helm-test');
    const refused = await runScript(`http://${HOST}:${await freePort()}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('the collector did not accept the span');
  });

  it('counts spans its backend rejects under the name TechShopTracingSpansDropped watches, and exposes every metric the tracing alerts use', async () => {
    // A gRPC backend that rejects every export with INVALID_ARGUMENT (a permanent error: no retries).
    const backendPort = await freePort();
    const backend = http2.createServer();
    backend.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '3', 'grpc-message': 'rejected by the test backend' }));
        stream.end();
      });
    });
    await new Promise<void>((resolve) => backend.listen(backendPort, HOST, resolve));
    const own: Record<string, number> = {};
    for (const name of ['otlpGrpc', 'otlpHttp', 'health', 'metrics']) own[name] = await freePort();
    const config = renderedConfig(objects, 'shop-otel-collector');
    moveListener(config.receivers.otlp.protocols.grpc, 'endpoint', 4317, own.otlpGrpc!);
    moveListener(config.receivers.otlp.protocols.http, 'endpoint', 4318, own.otlpHttp!);
    moveListener(config.extensions.healthcheckv2, 'endpoint', 13133, own.health!);
    moveTelemetry(config, own.metrics!);
    config.exporters['otlp/jaeger'].endpoint = `${HOST}:${backendPort}`;
    const rejecting = await startProgram('otelcol', config, { dir: join(dir, 'rejecting'), healthPort: own.health!, ports: Object.values(own) });
    try {
      await postSpan(own.otlpHttp!, otlpSpan(randomBytes(16).toString('hex'), randomBytes(8).toString('hex'), 'GET /lost'));
      const failed = await waitFor(
        'otelcol_exporter_send_failed_spans_total',
        async () => (await metrics(own.metrics!)).get('otelcol_exporter_send_failed_spans_total')?.find((s) => s.labels.includes('exporter="otlp/jaeger"') && s.value >= 1),
        60_000,
        500,
      );
      expect(failed.value).toBe(1);
      // every otelcol_* name in the rendered tracing alerts exists on a running collector
      const rules = loadYaml(findObject(objects, 'ConfigMap', 'shop-prometheus').data?.['techshop_rules.yml'] ?? '') as Any;
      const group = rules.groups.find((g: Any) => g.name === 'techshop-tracing');
      expect(group.rules.map((r: Any) => r.alert)).toEqual(['TechShopTracingSpansDropped', 'TechShopTracingSpansRefused']);
      const used = new Set<string>(group.rules.flatMap((r: Any) => [...String(r.expr).matchAll(/\botelcol_[a-z_]+/g)].map((m) => m[0])));
      expect(used.size).toBe(2);
      const exposed = await metrics(own.metrics!);
      for (const name of used) expect(exposed.has(name), `${name} on the collector's /metrics`).toBe(true);
    } finally {
      await rejecting.stop();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });
});

/**
 * Enough of Elasticsearch for a bulk-indexing client (the product header, GET /
 * and POST _bulk, NDJSON) and for the retention Job (PUT, recorded; `failPuts`
 * answers them 500).
 */
function fakeElasticsearch(options: { failPuts?: boolean } = {}) {
  const docs: { index: string; doc: Any }[] = [];
  const puts: { path: string; authorization?: string; contentType?: string; body: string }[] = [];
  const errors: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = '';
      try {
        const raw = Buffer.concat(chunks);
        body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      } catch (error) {
        errors.push(String(error));
        res.statusCode = 400;
        res.end();
        return;
      }
      res.setHeader('X-Elastic-Product', 'Elasticsearch');
      res.setHeader('content-type', 'application/json');
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'PUT') {
        puts.push({ path: path ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
        res.statusCode = options.failPuts ? 500 : 200;
        res.end(JSON.stringify(options.failPuts ? { error: 'unavailable' } : { acknowledged: true }));
        return;
      }
      if (req.method === 'POST' && path?.endsWith('/_bulk')) {
        const lines = body.split('\n').filter((l) => l.trim() !== '');
        const items: Any[] = [];
        try {
          for (let i = 0; i + 1 < lines.length; i += 2) {
            const action = JSON.parse(lines[i] as string);
            const [op, meta] = Object.entries(action)[0] as [string, Any];
            docs.push({ index: meta._index, doc: JSON.parse(lines[i + 1] as string) });
            items.push({ [op]: { _index: meta._index, _id: String(docs.length), status: 201, result: 'created' } });
          }
        } catch (error) {
          errors.push(`${String(error)}: ${body.slice(0, 200)}`);
          res.statusCode = 400;
          res.end();
          return;
        }
        res.end(JSON.stringify({ took: 1, errors: false, items }));
        return;
      }
      res.end(JSON.stringify({ name: 'test', cluster_name: 'test', version: { number: '8.15.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }));
    });
  });
  return { server, docs, puts, errors };
}

describe('the log agent on the config charts/logging renders', () => {
  it('a JSON line in a TechShop pod log reaches Elasticsearch as a parsed document with its trace id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logging-'));
    const es = fakeElasticsearch();
    const esPort = await freePort();
    await new Promise<void>((resolve) => es.server.listen(esPort, HOST, resolve));
    try {
      const objects = await renderChart(helm, 'logging', { valuesFiles: [join(chartDir('logging'), 'ci', 'dev-values.yaml')] });
      const config = renderedConfig(objects, 'shop-log-agent');
      // the node's pod log directory → a local one
      expect(config.receivers.filelog.include).toEqual(['/var/log/pods/techshop_*/*/*.log']);
      config.receivers.filelog.include = [join(dir, 'var/log/pods/techshop_*/*/*.log')];
      const health = await freePort();
      moveListener(config.extensions.healthcheckv2, 'endpoint', 13133, health);
      // the one cluster DNS name: the dev Elasticsearch Service
      expect(config.exporters.elasticsearch.endpoints).toEqual(['http://elasticsearch.logging.svc:9200']);
      config.exporters.elasticsearch.endpoints = [`http://${HOST}:${esPort}`];
      // a pod's log file as the kubelet lays it out: <ns>_<pod>_<uid>/<container>/<restart>.log
      const podDir = join(dir, 'var/log/pods/techshop_shop-app-7d9f8c6b5-x2k4q_0b8e6a2c-1111-4222-8333-444455556666/app');
      mkdirSync(podDir, { recursive: true });
      const file = join(podDir, '0.log');
      writeFileSync(file, '');
      const agent = await startProgram('otelcol', config, { dir: join(dir, 'agent'), healthPort: health });
      try {
        const traceId = randomBytes(16).toString('hex');
        const spanId = randomBytes(8).toString('hex');
        const line = JSON.stringify({ level: 'warn', msg: 'payment retried', trace_id: traceId, span_id: spanId, orderId: 'A-1001' });
        // start_at: end reads what is written after the agent found the file: append until a document arrives
        const found = await waitFor(
          'the log document in Elasticsearch',
          async () => {
            const hit = es.docs.find((d) => JSON.stringify(d.doc).includes(traceId));
            if (!hit) appendFileSync(file, `${new Date().toISOString()} stdout F ${line}\n`);
            return hit;
          },
          60_000,
          2_000,
        );
        expect(es.errors).toEqual([]);
        expect(found.index).toMatch(/^techshop-logs-dev-\d{4}\.\d{2}\.\d{2}$/);
        const doc = found.doc;
        // ECS field names: the JSON line's msg is the message, its level and ids the record's, the rest kept as fields
        expect(doc.message).toBe('payment retried');
        expect(doc.log.level).toBe('warn');
        expect(doc.trace).toEqual({ id: traceId });
        expect(doc.span).toEqual({ id: spanId });
        expect(doc.orderId).toBe('A-1001');
        expect(doc['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        // the pod, from the log file's path
        expect(doc.kubernetes).toMatchObject({ namespace: 'techshop', pod: { name: 'shop-app-7d9f8c6b5-x2k4q' }, container: { name: 'app' } });
        expect(agent.output()).not.toMatch(/"level":"error"/);
      } finally {
        await agent.stop();
      }
    } finally {
      await new Promise<void>((resolve) => es.server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('every environment’s rendered config is one the collector accepts', () => {
  it.each(environments)('%s: the trace collector and the log agent (otelcol validate), Jaeger where it runs (jaeger validate)', async (env) => {
    const dir = mkdtempSync(join(tmpdir(), 'otelcol-validate-'));
    try {
      const keyFile = join(dir, 'api-key');
      writeFileSync(keyFile, 'test-key');
      const umbrella = await renderEnv(helm, env);
      const tracing = renderedConfig(umbrella, 'shop-otel-collector');
      if (env !== 'prod') {
        // dev: memory storage; staging: badger on the claim
        const file = join(dir, 'jaeger.yaml');
        writeFileSync(file, dump(renderedConfig(umbrella, 'shop-jaeger')));
        const result = await run(telemetryBinary('jaeger'), ['validate', `--config=${file}`], { env: { PATH: process.env.PATH ?? '', POD_IP: HOST }, timeoutMs: 60_000 });
        expect(result.code, `jaeger: ${result.stdout}${result.stderr}`).toBe(0);
      } else {
        expect(umbrella.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'shop-jaeger')).toBe(false);
      }
      const logging = renderedConfig(await renderChart(helm, 'logging', { valuesFiles: [join(chartDir('logging'), 'ci', `${env}-values.yaml`)] }), 'shop-log-agent');
      const es = logging.exporters.elasticsearch;
      // the mounted Secret file → a local one (staging and prod authenticate with it)
      if (env !== 'dev') {
        expect(es.api_key).toBe('${file:/etc/otelcol-secrets/api-key}');
        es.api_key = `\${file:${keyFile}}`;
      }
      for (const [name, config] of [['tracing', tracing], ['logging', logging]] as const) {
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, dump(config));
        const result = await run(telemetryBinary('otelcol'), ['validate', `--config=${file}`], { env: { PATH: process.env.PATH ?? '', POD_IP: HOST }, timeoutMs: 60_000 });
        expect(result.code, `${name}: ${result.stdout}${result.stderr}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the tracing alerts on promtool', () => {
  it('fire on failing and refused spans and stay silent on a healthy collector (promtool test rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracing-rules-'));
    try {
      const umbrella = await renderEnv(helm, 'dev');
      const rules = findObject(umbrella, 'ConfigMap', 'shop-prometheus').data?.['techshop_rules.yml'] ?? '';
      writeFileSync(join(dir, 'techshop_rules.yml'), rules);
      const runbook = (loadYaml(rules) as Any).groups.find((g: Any) => g.name === 'techshop-tracing').rules[0].annotations.runbook_url.split('#')[0];
      const series = (name: string, label: string, values: string) => ({ series: `${name}{job="otel-collector",namespace="techshop",pod="shop-otel-collector-0",${label}}`, values });
      const alert = (alertname: string, labels: Record<string, string>, summary: string, description: string) => ({
        alertname,
        eval_time: '20m',
        exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'techshop', ...labels }, exp_annotations: { summary, description, runbook_url: `${runbook}#${alertname.toLowerCase()}` } }],
      });
      const unit = {
        rule_files: ['techshop_rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            // 10 failed and 10 refused spans a minute for 30 minutes
            interval: '1m',
            input_series: [series('otelcol_exporter_send_failed_spans_total', 'exporter="otlp/jaeger"', '0+10x30'), series('otelcol_receiver_refused_spans_total', 'receiver="otlp"', '0+10x30')],
            alert_rule_test: [
              alert('TechShopTracingSpansDropped', { exporter: 'otlp/jaeger' }, 'The trace collector cannot deliver spans', 'Exporter otlp/jaeger of the OpenTelemetry Collector fails to send spans (166.7m/s): traces are lost.'),
              alert('TechShopTracingSpansRefused', { receiver: 'otlp' }, 'The trace collector refuses spans', 'Receiver otlp of the OpenTelemetry Collector refuses spans (166.7m/s), usually at its memory limit: traces are lost.'),
            ],
          },
          {
            // a healthy collector: the counters exist and stay at 0
            interval: '1m',
            input_series: [series('otelcol_exporter_send_failed_spans_total', 'exporter="otlp/jaeger"', '0x30'), series('otelcol_receiver_refused_spans_total', 'receiver="otlp"', '0x30')],
            alert_rule_test: [
              { alertname: 'TechShopTracingSpansDropped', eval_time: '20m', exp_alerts: [] },
              { alertname: 'TechShopTracingSpansRefused', eval_time: '20m', exp_alerts: [] },
            ],
          },
        ],
      };
      writeFileSync(join(dir, 'tracing.test.yaml'), dump(unit));
      const result = await run(join(cacheDir, 'tools', 'bin', 'promtool-upstream'), ['test', 'rules', 'tracing.test.yaml'], { cwd: dir, timeoutMs: 60_000 });
      expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the retention Job of charts/logging on real curl', () => {
  // The Job's script, env and mounted files exactly as rendered for prod (API
  // key from the Secret); the mount paths point at a local directory and the
  // endpoint at a local stand-in that records what it is sent.
  async function runJob(es: ReturnType<typeof fakeElasticsearch>, extraEnv: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'retention-'));
    const port = await freePort();
    await new Promise<void>((resolve) => es.server.listen(port, HOST, resolve));
    try {
      const objects = await renderChart(helm, 'logging', { valuesFiles: [join(chartDir('logging'), 'ci', 'prod-values.yaml')] });
      const job = findObject(objects, 'Job', 'shop-log-retention');
      const container = job.spec.template.spec.containers[0];
      const env: Record<string, string> = Object.fromEntries(container.env.map((e: Any) => [e.name, e.value]));
      expect(env).toMatchObject({ ES_ENDPOINT: 'https://elasticsearch.techshop-cloud.com:9200', INDEX: 'techshop-logs-prod', CONFIG_DIR: '/etc/logging', SECRETS_DIR: '/etc/logging-secrets' });
      const data = findObject(objects, 'ConfigMap', 'shop-log-agent').data ?? {};
      const configDir = join(dir, 'config');
      const secretsDir = join(dir, 'secrets');
      mkdirSync(configDir);
      mkdirSync(secretsDir);
      const mounted = job.spec.template.spec.volumes.find((v: Any) => v.name === 'config').configMap.items.map((i: Any) => i.key);
      for (const key of mounted) writeFileSync(join(configDir, key), data[key] ?? '');
      writeFileSync(join(secretsDir, 'api-key'), 'S2V5SWQ6c2VjcmV0');
      const [shell, script] = container.command;
      expect(script).toBe('/etc/logging/apply-retention.sh');
      const result = await run(shell, [join(configDir, 'apply-retention.sh')], {
        env: { PATH: process.env.PATH, ...env, ES_ENDPOINT: `http://${HOST}:${port}`, CONFIG_DIR: configDir, SECRETS_DIR: secretsDir, ...extraEnv },
      });
      return { result, data };
    } finally {
      await new Promise<void>((resolve) => es.server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('PUTs the ILM policy and the index template that attaches it, with the API key, and again on a re-run', async () => {
    const es = fakeElasticsearch();
    const first = await runJob(es);
    expect(first.result.code, first.result.stderr).toBe(0);
    const second = await runJob(es);
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(es.puts.map((p) => p.path)).toEqual(['/_ilm/policy/techshop-logs-prod', '/_index_template/techshop-logs-prod', '/_ilm/policy/techshop-logs-prod', '/_index_template/techshop-logs-prod']);
    for (const put of es.puts) {
      expect(put.authorization).toBe('ApiKey S2V5SWQ6c2VjcmV0');
      expect(put.contentType).toBe('application/json');
    }
    const policy = JSON.parse(es.puts[0]!.body);
    expect(policy).toEqual(JSON.parse(first.data['ilm-policy.json'] ?? ''));
    expect(policy.policy.phases.delete).toEqual({ min_age: '30d', actions: { delete: {} } });
    const template = JSON.parse(es.puts[1]!.body);
    expect(template.index_patterns).toEqual(['techshop-logs-prod-*']);
    expect(template.template.settings['index.lifecycle.name']).toBe('techshop-logs-prod');
    // the key never appears in what the script prints
    expect(`${first.result.stdout}${first.result.stderr}`).not.toContain('S2V5SWQ6c2VjcmV0');
  });

  it('fails (so helm reports the hook) when Elasticsearch refuses', async () => {
    const es = fakeElasticsearch({ failPuts: true });
    const { result } = await runJob(es, { RETRIES: '0' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/500/);
    expect(es.puts).toHaveLength(1);
  });
});
