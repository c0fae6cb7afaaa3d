/** Plugins are found under src/plugins by folder; plugins.disable takes Janus library or package names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlugins } from '../../src/plugins/registry.ts';
import { silentLogger } from '../../src/core/log.ts';
import { testConfig } from '../helpers/core.ts';

test('every plugin folder is loaded, sorted by package name', async () => {
  const plugins = await loadPlugins(testConfig(), silentLogger());
  const names = plugins.map((p) => p.package);
  assert.ok(names.includes('janus.plugin.echotest'));
  assert.ok(names.includes('janus.plugin.portunus.test'));
  assert.deepEqual(names, [...names].sort());
});

test('plugins.disable by Janus library file name and by package name', async () => {
  const byLib = await loadPlugins(testConfig((c) => { c.plugins.disable = 'libjanus_echotest.so'; }), silentLogger());
  assert.ok(!byLib.some((p) => p.package === 'janus.plugin.echotest'));
  assert.ok(byLib.some((p) => p.package === 'janus.plugin.portunus.test'));
  const byName = await loadPlugins(testConfig((c) => { c.plugins.disable = 'janus.plugin.portunus.test, libjanus_echotest.so'; }), silentLogger());
  assert.deepEqual(byName.map((p) => p.package).filter((n) => n === 'janus.plugin.echotest' || n === 'janus.plugin.portunus.test'), []);
});
