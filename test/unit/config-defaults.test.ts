/**
 * config/ holds the default configuration as Janus-style files: it must set every schema option, in
 * the right file and group, to the schema default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJcfgWithLines } from '../../src/config/jcfg.ts';
import { loadConfig } from '../../src/config/load.ts';
import { listOptions } from '../../src/config/schema.ts';

const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

function keysOf(file: string): Set<string> {
  return new Set(parseJcfgWithLines(readFileSync(CONFIG_DIR + file, 'utf8'), file).lines.keys());
}

test('config/ sets every option of the schema', () => {
  const files = {
    core: keysOf('janus.jcfg'),
    http: keysOf('janus.transport.http.jcfg'),
    websockets: keysOf('janus.transport.websockets.jcfg'),
  };
  const missing: string[] = [];
  for (const { group, key, spec } of listOptions()) {
    const found =
      group === 'http' || group === 'websockets' ? files[group].has(`${spec.section}.${key}`) : files.core.has(`${group}.${key}`);
    if (!found) missing.push(`${group}.${key}`);
  }
  assert.deepEqual(missing, [], 'add these options to the files in config/');
});

test('config/ loads without warnings and equals the schema defaults', () => {
  const fromFiles = loadConfig({ configDir: CONFIG_DIR });
  assert.deepEqual(fromFiles.warnings, []);
  // Plugin files (config/janus.plugin.*.jcfg) document plugin defaults; they are not schema options.
  assert.deepEqual({ ...fromFiles.config, pluginConfigs: {} }, loadConfig().config);
});
