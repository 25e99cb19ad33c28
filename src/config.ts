/**
 * The app's configuration: core's loader with the config sections of the four modules.
 * Everything that starts fieldhub (CLI, server, tests, benchmarks) loads its config here.
 */
import { loadConfig as loadWith, type Config, type LoadConfigOptions } from './core/config.js';
import { modules } from './modules/index.js';

export { ConfigError, type Config, type ConfigInput } from './core/config.js';

export const moduleConfigs = modules.map((m) => m.config);

export function loadConfig(opts: Omit<LoadConfigOptions, 'modules'> = {}): Config {
  return loadWith({ modules: moduleConfigs, ...opts });
}
