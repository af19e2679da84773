// The tracing path on real programs: the OpenTelemetry Collector distribution
// and Jaeger v2 built by .ci/install-telemetry-tools.sh run with the configs
// charts/tracing renders for dev (listeners on ${env:POD_IP}, which is
// 127.0.0.1 here; ports moved to free ones; the one cluster DNS name, Jaeger's
// Service, pointed at the local Jaeger). A span posted as OTLP/HTTP JSON to the
// collector must come back from Jaeger's query API, and the metric names the
// monitoring chart's tracing alerts use must exist on the running collector.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load as loadYaml } from 'js-yaml';
import { findObject, type K8sObject } from '../scripts/lib/render.ts';
import { helms, renderEnv } from './helpers/render.ts';
import { freePort, waitFor } from './helpers/redis-server.ts';
import { HOST, parseMetrics, startProgram, stopPrograms, type Program } from './helpers/telemetry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const helm = helms[0]!;
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
    jaeger = await startProgram('jaeger', jaegerConfig, { dir: join(dir, 'jaeger'), healthPort: ports.jaegerHealth! });

    const config = renderedConfig(objects, 'shop-otel-collector');
    moveListener(config.receivers.otlp.protocols.grpc, 'endpoint', 4317, ports.otlpGrpc!);
    moveListener(config.receivers.otlp.protocols.http, 'endpoint', 4318, ports.otlpHttp!);
    moveListener(config.extensions.healthcheckv2, 'endpoint', 13133, ports.health!);
    moveTelemetry(config, ports.metrics!);
    // the one cluster DNS name: Jaeger's Service
    expect(config.exporters['otlp/jaeger'].endpoint).toBe('shop-jaeger:4317');
    config.exporters['otlp/jaeger'].endpoint = `${HOST}:${ports.jaegerOtlp}`;
    collector = await startProgram('otelcol', config, { dir: join(dir, 'collector'), healthPort: ports.health! });
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
    const rejecting = await startProgram('otelcol', config, { dir: join(dir, 'rejecting'), healthPort: own.health! });
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
