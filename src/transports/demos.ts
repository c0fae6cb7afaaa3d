/**
 * Demo pages on the HTTP API listener (`http.demos`): the demos/ folder at "/", janus.js at /js/janus/
 * (the classic script janus.js from janus-gateway's npm/src, and the ES module janus.es.js from npm/dist)
 * and webrtc-adapter at /js/adapter/ (janus.js expects a global `adapter`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/log.ts';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

export const DEMOS_DIR = join(projectRoot, 'demos');

export async function registerDemos(app: FastifyInstance, logger: Logger): Promise<void> {
  await app.register(fastifyStatic, { root: DEMOS_DIR, prefix: '/', index: ['index.html'] });
  const janus = packageDir('janus-gateway');
  if (janus) {
    const roots = [join(janus, 'npm', 'src'), join(janus, 'npm', 'dist')].filter((d) => existsSync(d));
    await app.register(fastifyStatic, { root: roots, prefix: '/js/janus/', decorateReply: false });
  } else {
    logger.warn('janus-gateway package not found: /js/janus/ not served');
  }
  const adapter = packageDir('webrtc-adapter');
  if (adapter && existsSync(join(adapter, 'out'))) {
    await app.register(fastifyStatic, { root: join(adapter, 'out'), prefix: '/js/adapter/', decorateReply: false });
  }
}

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}
