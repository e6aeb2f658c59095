/**
 * IANA time zone names as the CronJob controller accepts them (it loads them from tzdata,
 * case-sensitively): the runs, the API and the definitions check a zone with it before using it.
 *
 * @returns `undefined` when valid, else a sentence with the value given and what is expected
 */
export function checkTimeZone(zone: string): string | undefined {
  // Creating an Intl.DateTimeFormat costs ~0.2 ms; a project uses few zones.
  if (!CHECKED.has(zone)) CHECKED.set(zone, checkUncached(zone));
  return CHECKED.get(zone);
}

const CHECKED = new Map<string, string | undefined>();

function checkUncached(zone: string): string | undefined {
  const expected = 'expected an IANA time zone such as Asia/Tokyo, Europe/Berlin or UTC';
  if (zone === '' || zone === 'Local' || /\s/.test(zone)) {
    return `given ${JSON.stringify(zone)}, ${expected}`;
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return `given ${JSON.stringify(zone)}, ${expected}`;
  }
  // Intl matches case-insensitively; tzdata file names do not.
  if (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()) {
    return `given ${JSON.stringify(zone)}, expected the exact spelling ${JSON.stringify(resolved)} (time zone names are case-sensitive)`;
  }
  return undefined;
}
