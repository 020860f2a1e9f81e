/** Wires a config source to a running gateway: validate, apply, report as a `config` event. */
import type { Gateway } from '../gateway';
import { ConfigReloader, type ConfigSource } from '../config/watch';

export function startHotReload(gw: Gateway, source: ConfigSource): ConfigReloader {
  const reloader = new ConfigReloader(
    source,
    (config) => gw.reload(config),
    (outcome) => gw.events.emit({ type: 'config', ...outcome }),
  );
  reloader.start();
  return reloader;
}
