/**
 * Starts the GStreamer RTSP test server (rtsp-test-server.py: H.264 + Opus, optional Digest/Basic,
 * UDP and/or TCP) on 127.0.0.1 and stops it; a port can be reused to restart it (reconnect tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./rtsp-test-server.py', import.meta.url));

export interface RtspServerOptions {
  port?: number;
  user?: string;
  password?: string;
  auth?: 'digest' | 'basic';
  protocols?: 'udp' | 'tcp' | 'both';
  noAudio?: boolean;
}

export interface TestRtspServer {
  port: number;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (for servers restarted on the same port). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export async function startRtspServer(o: RtspServerOptions = {}): Promise<TestRtspServer> {
  const args = [SCRIPT, '--port', String(o.port ?? 0), '--protocols', o.protocols ?? 'both'];
  if (o.user) args.push('--user', o.user, '--password', o.password ?? '', '--auth', o.auth ?? 'digest');
  if (o.noAudio) args.push('--no-audio');
  const proc = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => { err = (err + d.toString()).slice(-2000); });
  const port = await new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`RTSP test server did not start: ${err}`)), 20000);
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) { clearTimeout(timer); ok(Number(m[1])); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); fail(new Error(`RTSP test server exited ${code}: ${err}`)); });
  });
  return {
    port, url: `rtsp://127.0.0.1:${port}/test`, proc,
    stop: () => new Promise((ok) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return ok();
      proc.once('exit', () => ok());
      proc.kill('SIGKILL');
    }),
  };
}
