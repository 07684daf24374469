import type { ConfigOverrides } from '../config/load-config.js';

/** Options most commands share. */
export interface CommonOptions {
  config?: string;
  dataDir?: string;
}

/** A config override built from flags: flags win over file and environment (SPEC OPS-1). */
export type FlagOverrides = ConfigOverrides & { server?: NonNullable<ConfigOverrides['server']> };

/** Turns shared CLI flags into config overrides. */
export function configOverridesFrom(options: CommonOptions): FlagOverrides {
  const overrides: FlagOverrides = {};
  if (options.dataDir !== undefined) overrides.server = { dataDir: options.dataDir };
  return overrides;
}
