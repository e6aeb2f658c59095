// The filters of the executions pages as the hash query keeps them, so that a filtered view
// can be linked: `status`, `cronjob`, and the start time as a preset (`range=hour|day|week`,
// counted back from each load) or as instants (`since`, `until`: ISO 8601, UTC). No DOM, so
// that Node runs it as the browser does (test/console-execution-filters.test.ts).

/** The presets of the time filter, by their key in the hash query. */
export const RANGE_PRESETS = {
  hour: { label: 'Last hour', ms: 3600e3 },
  day: { label: 'Last 24 hours', ms: 24 * 3600e3 },
  week: { label: 'Last 7 days', ms: 7 * 24 * 3600e3 },
};

export const STATUSES = ['running', 'succeeded', 'failed', 'unknown'];

/** The query keys the pages keep. */
const KEYS = ['status', 'cronjob', 'range', 'since', 'until'];

/**
 * The filters of a hash query: unknown statuses and presets dropped; instants kept as given,
 * so that a hand-edited link shows the API's problem naming it.
 * @param {Record<string, string>} query
 * @returns {{status?: string, cronjob?: string, range?: string, since?: string, until?: string}}
 */
export function filtersOf(query) {
  const filters = {};
  if (STATUSES.includes(query.status)) filters.status = query.status;
  if (query.cronjob) filters.cronjob = query.cronjob;
  if (Object.hasOwn(RANGE_PRESETS, query.range ?? '')) filters.range = query.range;
  else {
    if (query.since) filters.since = query.since;
    if (query.until) filters.until = query.until;
  }
  return filters;
}

/**
 * The API's query of a page of executions at `now`: a preset becomes `since`.
 * @param {ReturnType<typeof filtersOf>} filters
 * @param {number} now milliseconds since the epoch
 * @returns {Record<string, string>}
 */
export function apiQueryOf(filters, now) {
  const { range, ...rest } = filters;
  return range ? { ...rest, since: new Date(now - RANGE_PRESETS[range].ms).toISOString() } : rest;
}

/**
 * A page's address with its filters in the hash query, empty ones left out, in a fixed order.
 * @param {string} href e.g. `#/projects/shop/executions`
 * @param {Record<string, string | undefined>} filters
 */
export function withFilters(href, filters) {
  const params = new URLSearchParams();
  for (const key of KEYS) if (filters[key]) params.set(key, filters[key]);
  const search = params.toString();
  return search ? `${href}?${search}` : href;
}

/** Whether any filter is set. @param {ReturnType<typeof filtersOf>} filters */
export function isFiltered(filters) {
  return Object.keys(filters).length > 0;
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * The value of a `datetime-local` input for an instant, in the viewer's zone (the input's).
 * @param {string | undefined} iso
 */
export function localInputValue(iso) {
  const time = iso === undefined ? NaN : Date.parse(iso);
  if (!Number.isFinite(time)) return '';
  const d = new Date(time);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The instant a `datetime-local` value (`2026-01-31T02:30`) stands for in the viewer's zone.
 * @param {string} value
 * @returns {string | undefined} ISO 8601 in UTC; undefined for an empty or partial value
 */
export function instantOfLocalInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return undefined;
  // Without an offset, a date-time is read in the local zone.
  const time = new Date(value).getTime();
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

/**
 * The viewer's zone in words, e.g. `Europe/Paris, UTC+01:00`, for the time inputs' label.
 * @param {number} at milliseconds since the epoch (the offset of that moment)
 * @param {string} [timeZone] IANA zone @default the viewer's
 */
export function zoneLabel(at, timeZone) {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'longOffset' });
  const name = format.resolvedOptions().timeZone;
  const offset = format.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value;
  // longOffset writes UTC itself as "GMT".
  const utcOffset = (offset ?? 'GMT').replace(/^GMT$/, 'UTC+00:00').replace(/^GMT/, 'UTC');
  return `${name}, ${utcOffset}`;
}
