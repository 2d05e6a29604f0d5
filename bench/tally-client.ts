export interface TallyResponse {
  status: number;
  /** Parsed JSON, or the text when it is not JSON. */
  body: any;
  headers: Headers;
}

/** Single calls to Tally outside the load runs (set-up, probes, replays, checks), over keep-alive fetch. */
export class TallyClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
  ) {}

  /** The same server with another API key. */
  withKey(key: string): TallyClient {
    return new TallyClient(this.baseUrl, key);
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<TallyResponse> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /** The same, failing unless the status is the expected one. */
  async expect(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TallyResponse> {
    const response = await this.request(method, path, body, headers);
    if (response.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  }
}
