// The schedule builder's presets: each turns a few settings (a time, a weekday...) into a
// five-field cron expression and reads such an expression back, so that the preset and the raw
// field always show the same schedule. Pure: no DOM, so Node runs it too
// (test/console-cronjob-form.test.ts).

/** Every N minutes: the steps that divide an hour, so the runs are evenly spaced. */
export const MINUTE_STEPS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];

export const WEEKDAYS = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
];

/**
 * The settings of every preset, and their defaults when a preset is picked.
 * @typedef {{step: number, minute: number, time: string, weekday: number, day: number}} PresetSettings
 */
export const DEFAULT_SETTINGS = { step: 15, minute: 0, time: '09:00', weekday: 1, day: 1 };

/**
 * The presets in the order the builder offers them; `settings` names what each one asks.
 * @type {{id: string, label: string, settings: (keyof PresetSettings)[], expression: (s: PresetSettings) => string}[]}
 */
export const PRESETS = [
  {
    id: 'minutes',
    label: 'Every N minutes',
    settings: ['step'],
    expression: (s) => (s.step === 1 ? '* * * * *' : `*/${s.step} * * * *`),
  },
  {
    id: 'hourly',
    label: 'Hourly at',
    settings: ['minute'],
    expression: (s) => `${s.minute} * * * *`,
  },
  {
    id: 'daily',
    label: 'Daily at',
    settings: ['time'],
    expression: (s) => `${clock(s.time)} * * *`,
  },
  {
    id: 'weekdays',
    label: 'Weekdays at',
    settings: ['time'],
    expression: (s) => `${clock(s.time)} * * 1-5`,
  },
  {
    id: 'weekly',
    label: 'Weekly on',
    settings: ['weekday', 'time'],
    expression: (s) => `${clock(s.time)} * * ${s.weekday}`,
  },
  {
    id: 'monthly',
    label: 'Monthly on',
    settings: ['day', 'time'],
    expression: (s) => `${clock(s.time)} ${s.day} * *`,
  },
];

/** `07:30` → `30 7` (minute and hour fields). */
function clock(time) {
  const [hour, minute] = time.split(':').map(Number);
  return `${minute} ${hour}`;
}

const NUMBER = '(\\d{1,2})';
/** What each preset's expression looks like, and the settings read from it. */
const READERS = [
  ['minutes', /^\*\/(\d{1,2}) \* \* \* \*$/, (m) => ({ step: Number(m[1]) })],
  ['minutes', /^\* \* \* \* \*$/, () => ({ step: 1 })],
  ['hourly', new RegExp(`^${NUMBER} \\* \\* \\* \\*$`), (m) => ({ minute: Number(m[1]) })],
  ['daily', new RegExp(`^${NUMBER} ${NUMBER} \\* \\* \\*$`), (m) => ({ time: timeOf(m[2], m[1]) })],
  [
    'weekdays',
    new RegExp(`^${NUMBER} ${NUMBER} \\* \\* (1-5|MON-FRI)$`, 'i'),
    (m) => ({ time: timeOf(m[2], m[1]) }),
  ],
  [
    'weekly',
    new RegExp(`^${NUMBER} ${NUMBER} \\* \\* ([0-6])$`),
    (m) => ({ time: timeOf(m[2], m[1]), weekday: Number(m[3]) }),
  ],
  [
    'monthly',
    new RegExp(`^${NUMBER} ${NUMBER} ${NUMBER} \\* \\*$`),
    (m) => ({ time: timeOf(m[2], m[1]), day: Number(m[3]) }),
  ],
];

/** `7`, `30` → `07:30`. */
function timeOf(hour, minute) {
  return `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
}

/** Whether the settings read are ones the preset can write (in range, a listed step). */
function inRange(s) {
  const [hour, minute] = (s.time ?? '00:00').split(':').map(Number);
  return (
    (s.step === undefined || MINUTE_STEPS.includes(s.step)) &&
    (s.minute === undefined || s.minute <= 59) &&
    hour <= 23 &&
    minute <= 59 &&
    (s.day === undefined || (s.day >= 1 && s.day <= 31))
  );
}

/**
 * The preset an expression is written by, with its settings; undefined when no preset writes
 * it (the raw field then holds it as it is).
 * @param {string} expression
 * @returns {{preset: string, settings: PresetSettings} | undefined}
 */
export function presetOf(expression) {
  const trimmed = expression.trim().replace(/\s+/g, ' ');
  for (const [preset, pattern, read] of READERS) {
    const match = pattern.exec(trimmed);
    if (!match) continue;
    const settings = read(match);
    if (inRange(settings)) return { preset, settings: { ...DEFAULT_SETTINGS, ...settings } };
  }
  return undefined;
}

/**
 * The expression a preset writes with these settings.
 * @param {string} preset one of PRESETS' ids
 * @param {PresetSettings} settings
 */
export function expressionOf(preset, settings) {
  const found = PRESETS.find((p) => p.id === preset);
  if (!found)
    throw new Error(
      `given preset ${JSON.stringify(preset)}, expected one of ${PRESETS.map((p) => p.id).join(', ')}`,
    );
  return found.expression(settings);
}
