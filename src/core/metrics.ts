/**
 * Prometheus text metrics for the core: sessions, handles, requests by verb and error code.
 * Counters are plain numbers in maps keyed by label values; render() writes exposition format 0.0.4.
 */
export class CoreMetrics {
  sessions = 0;
  handles = 0;
  sessionsCreated = 0;
  sessionsTimedOut = 0;
  readonly #requests = new Map<string, number>();
  readonly #transportErrors = new Map<string, number>();
  readonly #started = Date.now();
  /** Extra gauges contributed by other parts (peers, packets...), rendered as they are. */
  readonly #collectors: Array<() => string> = [];

  observeRequest(api: 'janus' | 'admin', verb: string, code: number): void {
    // Verbs come from clients: keep the label set bounded.
    const v = /^[a-z_]{1,32}$/.test(verb) ? verb : 'other';
    const key = `${api}\u0000${v}\u0000${code}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  observeTransportError(transport: string, code: number): void {
    const key = `${transport}\u0000${code}`;
    this.#transportErrors.set(key, (this.#transportErrors.get(key) ?? 0) + 1);
  }

  addCollector(render: () => string): void {
    this.#collectors.push(render);
  }

  requestCount(api: 'janus' | 'admin', verb: string, code: number): number {
    return this.#requests.get(`${api}\u0000${verb}\u0000${code}`) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP portunus_sessions Janus API sessions alive.', '# TYPE portunus_sessions gauge', `portunus_sessions ${this.sessions}`);
    out.push('# HELP portunus_handles Plugin handles attached.', '# TYPE portunus_handles gauge', `portunus_handles ${this.handles}`);
    out.push('# HELP portunus_sessions_created_total Sessions created.', '# TYPE portunus_sessions_created_total counter', `portunus_sessions_created_total ${this.sessionsCreated}`);
    out.push('# HELP portunus_sessions_timed_out_total Sessions reaped by session_timeout or reclaim expiry.', '# TYPE portunus_sessions_timed_out_total counter', `portunus_sessions_timed_out_total ${this.sessionsTimedOut}`);
    out.push('# HELP portunus_requests_total Requests handled, by API, verb and Janus error code (0 = success).', '# TYPE portunus_requests_total counter');
    for (const [key, n] of this.#requests) {
      const [api, verb, code] = key.split('\u0000');
      out.push(`portunus_requests_total{api="${api}",verb="${verb}",code="${code}"} ${n}`);
    }
    out.push('# HELP portunus_transport_errors_total Requests refused by a transport before the core saw them, by HTTP or Janus code.', '# TYPE portunus_transport_errors_total counter');
    for (const [key, n] of this.#transportErrors) {
      const [transport, code] = key.split('\u0000');
      out.push(`portunus_transport_errors_total{transport="${transport}",code="${code}"} ${n}`);
    }
    out.push('# HELP portunus_uptime_seconds Seconds since start.', '# TYPE portunus_uptime_seconds gauge', `portunus_uptime_seconds ${((Date.now() - this.#started) / 1000).toFixed(3)}`);
    for (const c of this.#collectors) out.push(c());
    return out.join('\n') + '\n';
  }
}
