/**
 * Interop with janode (Meetecho's Node.js Janus client, npm `janode`) over WebSocket: connect to
 * Portunus, read the server info, create a session, attach janus.plugin.portunus.test through a
 * plugin descriptor, exchange a synchronous and an asynchronous message, let a keepalive go out,
 * detach, destroy, close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/log.ts';
import { TestPlugin } from '../../src/plugins/portunus-test/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

const TEST_PLUGIN = 'janus.plugin.portunus.test';

// janode ships no type declarations: the slice of its API used here, typed locally, and imported
// through a string-typed specifier so the compiler does not look for declarations.
type JanusMessage = { janus: string; transaction?: string; plugindata?: { plugin: string; data: Record<string, unknown> } };
interface JanodeHandle {
  id: number;
  message(body: object, jsep?: object): Promise<any>;
  detach(): Promise<void>;
  ownsTransaction(id: string): boolean;
  closeTransactionWithSuccess(id: string, data?: unknown): void;
  once(event: string, listener: (data: any) => void): unknown;
  emit(event: string, data: unknown): boolean;
}
type JanodeHandleClass = new (session: unknown, id: number) => JanodeHandle;
interface JanodeSession {
  id: number;
  attach(descriptor: { id: string; Handle?: JanodeHandleClass }): Promise<JanodeHandle>;
  destroy(): Promise<void>;
  once(event: string, listener: (data: any) => void): unknown;
}
interface JanodeConnection {
  create(keepaliveSeconds?: number): Promise<JanodeSession>;
  getInfo(): Promise<Record<string, any>>;
  close(): Promise<void>;
  once(event: string, listener: (data: any) => void): unknown;
}
interface JanodeModule {
  connect(config: object): Promise<JanodeConnection>;
  Logger: { setLevel(level: string): string };
  EVENT: Record<string, string>;
}

const janodeSpec: string = 'janode';
const handleSpec: string = 'janode/handle';
const Janode = ((await import(janodeSpec)) as { default: JanodeModule }).default;
const BaseHandle = ((await import(handleSpec)) as { default: JanodeHandleClass }).default;
Janode.Logger.setLevel('none');

/** Plugin event names this handle emits for events outside a transaction. */
const ASYNC_DONE = 'portunus_test_async_done';

/**
 * The handle class of the descriptor. janode closes a transaction itself on `success`/`error`;
 * an asynchronous plugin `event` is left to handleMessage, which must close the transaction (or
 * emit) and return a truthy value, and return null for what it does not know.
 */
class PortunusTestHandle extends BaseHandle {
  handledEvents = 0;
  handleMessage(message: JanusMessage): object | null {
    const data = message.plugindata?.data;
    if (message.janus !== 'event' || message.plugindata?.plugin !== TEST_PLUGIN || data?.result !== 'async-done') return null;
    this.handledEvents++;
    if (message.transaction && this.ownsTransaction(message.transaction)) this.closeTransactionWithSuccess(message.transaction, data);
    else this.emit(ASYNC_DONE, data);
    return data;
  }
}

const descriptor = { id: TEST_PLUGIN, Handle: PortunusTestHandle };

describe('janode over WebSocket', () => {
  let server: RunningServer;
  let url: string;

  before(async () => {
    const { config } = loadConfig({
      env: {},
      cliOverrides: { 'http.http': 'false', 'websockets.ws_ip': '127.0.0.1', 'websockets.ws_port': '0' },
    });
    server = await startServer(config, { logger: silentLogger(), plugins: [new TestPlugin()] });
    assert.ok(server.ports.ws, 'WebSocket listener started');
    url = `ws://127.0.0.1:${server.ports.ws}/`;
  });

  after(async () => {
    await server?.close();
  });

  it('connects, creates a session, attaches, messages, detaches, destroys, closes', async () => {
    const connection = await Janode.connect({ address: { url }, retry_time_secs: 1, max_retries: 1 });
    try {
      const info = await connection.getInfo();
      assert.equal(info.janus, 'server_info');
      assert.ok(info.plugins?.[TEST_PLUGIN], 'the test plugin is listed');

      // A 1 s keepalive period, so janode sends at least one keepalive during the test.
      const session = await connection.create(1);
      assert.equal(typeof session.id, 'number');
      const handle = await session.attach(descriptor);
      assert.ok(handle instanceof PortunusTestHandle);
      assert.equal(typeof handle.id, 'number');

      const sync = (await handle.message({ request: 'ping' })) as JanusMessage;
      assert.equal(sync.janus, 'success');
      assert.deepEqual(sync.plugindata, { plugin: TEST_PLUGIN, data: { result: 'pong' } });

      const asyncData = await handle.message({ request: 'async' });
      assert.deepEqual(asyncData, { result: 'async-done' });
      assert.equal((handle as PortunusTestHandle).handledEvents, 1);

      // A plugin error comes back as a rejected promise carrying the Janus error code.
      await assert.rejects(handle.message({ request: 'fail' }), /^Error: 46\d /);

      await new Promise((resolve) => setTimeout(resolve, 1300));
      assert.ok(server.gateway.metrics.requestCount('janus', 'keepalive', 0) >= 1, 'janode sent a keepalive and got an ack');
      const again = (await handle.message({ request: 'ping' })) as JanusMessage;
      assert.equal(again.plugindata?.data.result, 'pong');

      const detached = new Promise((resolve) => handle.once(Janode.EVENT.HANDLE_DETACHED, resolve));
      await handle.detach();
      await detached;
      await assert.rejects(handle.message({ request: 'ping' }), /detached/);

      const destroyed = new Promise((resolve) => session.once(Janode.EVENT.SESSION_DESTROYED, resolve));
      await session.destroy();
      await destroyed;
      assert.equal(server.gateway.sessions.size, 0);
    } finally {
      await connection.close();
    }
  });
});
