// A minimal Kubernetes API client over HTTPS with a client certificate: what
// the local cluster's start-up and its volume provisioner need, without a
// dependency. Everything else talks to the API through kubectl and helm.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';

export interface KubeCredentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export interface KubeResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export function credentialsFromFiles(server: string, files: { ca: string; cert: string; key: string }): KubeCredentials {
  return { server, ca: readFileSync(files.ca, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}

export function kubeRequest(
  credentials: KubeCredentials,
  method: string,
  path: string,
  body?: unknown,
  options: { timeoutMs?: number; contentType?: string } = {},
): Promise<KubeResponse> {
  const url = new URL(path, credentials.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: credentials.ca,
        cert: credentials.cert,
        key: credentials.key,
        headers: {
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
        },
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${options.timeoutMs ?? 15_000} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Creates an object; an existing one (409) is fine. */
export async function createIfAbsent(credentials: KubeCredentials, collectionPath: string, object: unknown): Promise<void> {
  const res = await kubeRequest(credentials, 'POST', collectionPath, object);
  if (res.status >= 300 && res.status !== 409) {
    throw new Error(`POST ${collectionPath}: ${res.status} ${res.body?.message ?? res.text}`);
  }
}
