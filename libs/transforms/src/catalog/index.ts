import type { AnyView } from '../views/define-view';
import { flightsPerOriginHour, flightsPerRouteDay } from './flights.views';
import { requestsPerStatusHour, requestsPerUrlMinute } from './http-requests.views';

export * from './flights.views';
export * from './http-requests.views';

/** Every view the platform runs, in a fixed order. */
export const catalog: readonly AnyView[] = [requestsPerUrlMinute, requestsPerStatusHour, flightsPerOriginHour, flightsPerRouteDay];

export function viewByName(name: string, views: readonly AnyView[] = catalog): AnyView {
  const view = views.find((v) => v.name === name);
  if (!view) throw new RangeError(`unknown view "${name}"; known views: ${views.map((v) => v.name).join(', ')}`);
  return view;
}

/** Views over one stream. */
export const viewsOfStream = (stream: string, views: readonly AnyView[] = catalog): AnyView[] => views.filter((v) => v.stream.name === stream);

/** Resolves a comma-separated selection (`*` or empty means all). */
export function selectViews(names: readonly string[], views: readonly AnyView[] = catalog): AnyView[] {
  if (names.length === 0 || (names.length === 1 && names[0] === '*')) return [...views];
  return names.map((n) => viewByName(n, views));
}

/**
 * Earlier definitions of the catalog's views. A view changes by getting a new `version`; the
 * definition it replaces moves here and stays while a batch version computed by it may still
 * be current (until a batch run of the new definition has flipped everywhere). Serving
 * answers from the transform version the batch pointer names and reads its states with that
 * version's definition, so it needs the old one during a rollout; without it, it refuses to
 * answer rather than read one version's states with another's aggregators.
 */
export const retiredViews: readonly AnyView[] = [];

/** The definition of view `name` at `transformVersion`, among the running and retired ones. */
export function viewAtVersion(name: string, transformVersion: string, views: readonly AnyView[] = catalog, retired: readonly AnyView[] = retiredViews): AnyView | undefined {
  return views.find((v) => v.name === name && v.transformVersion === transformVersion) ?? retired.find((v) => v.name === name && v.transformVersion === transformVersion);
}
