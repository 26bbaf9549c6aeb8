/** Injection token of the running speed layer and what it was built from (SpeedRuntime). */
export const SPEED_RUNTIME = Symbol('tandem.speed.runtime');
