/**
 * Finds plugins under src/plugins/<folder>/index.ts (each default-exports a PluginFactory) and
 * honours `plugins.disable`: a comma list of Janus library names (libjanus_echotest.so) or package
 * names (janus.plugin.echotest).
 */
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PortunusConfig } from '../config/types.ts';
import type { Logger } from '../core/log.ts';
import type { Plugin, PluginFactory } from '../core/plugin.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function disabledSet(disable: string): Set<string> {
  return new Set(disable.split(',').map((s) => s.trim()).filter(Boolean));
}

/** Is this plugin named in the disable list, by package name or by its Janus library file name? */
export function isDisabled(plugin: Plugin, disabled: Set<string>): boolean {
  const short = plugin.package.replace(/^janus\.plugin\./, '');
  return disabled.has(plugin.package) || disabled.has(`libjanus_${short}.so`);
}

export async function loadPlugins(config: PortunusConfig, log: Logger, folder = here): Promise<Plugin[]> {
  const disabled = disabledSet(config.plugins.disable);
  const plugins: Plugin[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const index = join(folder, entry.name, 'index.ts');
    if (!existsSync(index)) continue;
    const mod = (await import(pathToFileURL(index).href)) as { default?: PluginFactory };
    if (typeof mod.default !== 'function') {
      log.warn({ folder: entry.name }, 'plugin folder has no default-exported factory; skipped');
      continue;
    }
    const plugin = mod.default();
    if (isDisabled(plugin, disabled)) {
      log.info({ plugin: plugin.package }, 'plugin disabled by configuration');
      continue;
    }
    plugins.push(plugin);
  }
  plugins.sort((a, b) => a.package.localeCompare(b.package));
  return plugins;
}
