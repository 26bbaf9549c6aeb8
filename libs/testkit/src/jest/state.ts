// Handles of the servers started by the global setup, kept on globalThis: Jest loads the setup
// and teardown modules separately, but in the same process.
import type { KafkaBroker } from '../kafka-broker';
import type { PostgresServer } from '@tandem/platform';

export interface HarnessState {
  kafka?: KafkaBroker;
  postgres?: PostgresServer;
}

const KEY = Symbol.for('tandem.testkit.harness');
type WithHarness = typeof globalThis & { [KEY]?: HarnessState };

export const harnessState = {
  set(state: HarnessState): void {
    (globalThis as WithHarness)[KEY] = state;
  },
  take(): HarnessState | undefined {
    const state = (globalThis as WithHarness)[KEY];
    delete (globalThis as WithHarness)[KEY];
    return state;
  },
};
