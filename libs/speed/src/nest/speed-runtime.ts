import type { SpeedLayer, SpeedLayerOptions } from '../speed-layer';

/**
 * What the Nest module holds: the layer, the dependencies it was built from (for health
 * checks) and how to release what the module's factory opened.
 */
export interface SpeedRuntime {
  readonly layer: SpeedLayer;
  readonly dependencies: SpeedLayerOptions;
  /** Closes what the factory opened (the log and the database in the stand-alone service). */
  readonly close: () => Promise<void>;
}

export interface SpeedDependencies {
  /** The layer's options: log, database, views and the rest. */
  readonly layer: SpeedLayerOptions;
  /** Called on shutdown after the layer stopped. Default: nothing (the caller owns them). */
  readonly close?: () => Promise<void>;
}
