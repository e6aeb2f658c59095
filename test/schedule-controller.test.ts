import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Schedule, SchedulePreview } from '../constructs';
import { dayMatches, parseCronFields } from '../constructs/cron-fields';
import { ZoneClock, wallTimeOf } from '../constructs/zone-clock';
import { pinnedVersion } from './cluster/build';
import { cronNext, kubernetes, moduleDir } from './cluster/components';
import { EDGE_CASES, type ScheduleCase, generatedCases } from './schedule-cases';
import { type SchedulerAnswer, controllerRuns } from './schedule-controller-scheduler';

/**
 * Schedule.nextRuns against robfig/cron v3 itself, called as kube-controller-manager calls it
 * (test/cluster/go/cron-next), on edge cases and on generated schedules, zones and instants.
 * HKS_SCHEDULE_SEED repeats a run's generated cases.
 */
const SEED = Number(process.env.HKS_SCHEDULE_SEED ?? 20260308);
const GENERATED = 600;
const NEAR_CHANGES = 300;
/** Near-change cases at least whose skipped times and repeated hours are found minute by minute. */
const WALKED = 50;

const generated = generatedCases(SEED, GENERATED);
/** Cases starting shortly before a clock change, for the minute-by-minute walk. */
const nearChanges = generatedCases(SEED, NEAR_CHANGES, { nearChanges: true });
let edgeAnswers: SchedulerAnswer[];
let generatedAnswers: SchedulerAnswer[];

beforeAll(async () => {
  // The first run on a machine builds cron-next (Go modules from the proxy): about a minute.
  const answers = await controllerRuns(
    [...EDGE_CASES, ...generated, ...nearChanges].map(requestOf),
  );
  edgeAnswers = answers.slice(0, EDGE_CASES.length);
  generatedAnswers = answers.slice(EDGE_CASES.length);
}, 300_000);

function requestOf({ schedule, timeZone, from, count }: ScheduleCase): ScheduleCase {
  return { about: '', schedule, timeZone, from, count };
}

function ourRuns(c: ScheduleCase): string[] {
  return Schedule.cron(c.schedule)
    .nextRuns(c.count, { timeZone: c.timeZone, from: new Date(c.from) })
    .map(rfc3339);
}

function ourPreview(c: ScheduleCase): SchedulePreview {
  return Schedule.cron(c.schedule).preview(c.count, {
    timeZone: c.timeZone,
    from: new Date(c.from),
  });
}

function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

function controllerAnswer(answer: SchedulerAnswer, c: ScheduleCase): readonly string[] {
  if (answer.error) throw new Error(`cron-next refused ${JSON.stringify(c)}: ${answer.error}`);
  return answer.runs ?? [];
}

test('cron-next is built with the robfig/cron the pinned kube-controller-manager is built with', () => {
  const goMod = (component: typeof cronNext): string =>
    readFileSync(join(moduleDir(component), 'go.mod'), 'utf8');
  expect(pinnedVersion(goMod(kubernetes), cronNext.module)).toBe(cronNext.version);
  expect(pinnedVersion(goMod(cronNext), cronNext.module)).toBe(cronNext.version);
});

describe.each(EDGE_CASES.map((c, i) => [c.about, c, i] as const))('%s', (_about, c, i) => {
  test(`${c.schedule} in ${c.timeZone} from ${c.from}: the controller's runs, and ours`, () => {
    expect(controllerAnswer(edgeAnswers[i], c)).toEqual(c.runs);
    expect(ourRuns(c)).toEqual(c.runs);
  });

  test('preview: wall times, repeated hours and skipped times', () => {
    const preview = ourPreview(c);
    expect(preview.runs.map((run) => rfc3339(run.at))).toEqual(c.runs);
    if (c.local) {
      expect(preview.runs.map((run) => run.local + (run.repeatedHour ? ' R' : ''))).toEqual(
        c.local,
      );
    }
    if (c.skipped) {
      expect(preview.skipped.map((skip) => `${skip.local} ${skip.reason}`)).toEqual(c.skipped);
    }
  });
});

test(`${GENERATED + NEAR_CHANGES} generated schedules, zones and instants (seed ${SEED}) run when the controller runs them`, () => {
  const started = performance.now();
  const differences: string[] = [];
  let runs = 0;
  [...generated, ...nearChanges].forEach((c, i) => {
    const expected = controllerAnswer(generatedAnswers[i], c);
    const actual = ourRuns(c);
    runs += expected.length;
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      differences.push(
        `${JSON.stringify(requestOf(c))}\n  controller ${expected.join(' ')}\n  ours       ${actual.join(' ')}`,
      );
    }
  });
  const all = [...generated, ...nearChanges];
  const zones = new Set(all.map((c) => c.timeZone)).size;
  const schedules = new Set(all.map((c) => c.schedule)).size;
  console.log(
    `seed ${SEED}: ${all.length} cases (${nearChanges.length} near a clock change) (${schedules} schedules, ${zones} zones), ` +
      `${runs} controller runs compared, ${differences.length} differ; ` +
      `ours in ${(performance.now() - started).toFixed(0)} ms`,
  );
  expect(differences.slice(0, 10)).toEqual([]);
});

test('preview marks exactly the repeated runs and the skipped times found minute by minute', () => {
  let checked = 0;
  const skipped = { 'dst-gap': 0, 'stepped-over': 0 };
  let repeated = 0;
  for (const c of nearChanges) {
    const preview = ourPreview(c);
    const last = preview.runs.at(-1);
    // Short, complete windows only: a minute-by-minute walk costs one zone look-up a minute.
    if (preview.runs.length !== c.count || !last) continue;
    if (last.at.getTime() - Date.parse(c.from) > 2 * 86_400_000) continue;
    const expected = minuteByMinute(
      c,
      preview.runs.map((run) => run.at.getTime() / 1000),
    );
    expect({ case: c, ...markingsOf(preview) }).toEqual({ case: c, ...expected });
    checked++;
    for (const skip of preview.skipped) skipped[skip.reason]++;
    repeated += expected.repeated.filter(Boolean).length;
  }
  console.log(
    `seed ${SEED}: ${checked} windows walked minute by minute: ${skipped['dst-gap']} dst-gap and ` +
      `${skipped['stepped-over']} stepped-over times, ${repeated} repeated-hour runs`,
  );
  expect(checked).toBeGreaterThanOrEqual(WALKED);
  expect(skipped['dst-gap']).toBeGreaterThan(0);
  expect(repeated).toBeGreaterThan(0);
});

/** Beyond the window the walk reads: more than any clock change moves a clock (Troll's 2 h). */
const MARGIN = 3 * 3600;

interface Markings {
  readonly repeated: boolean[];
  readonly skipped: string[];
}

function markingsOf(preview: SchedulePreview): Markings {
  return {
    repeated: preview.runs.map((run) => run.repeatedHour),
    skipped: preview.skipped.map((skip) => `${skip.local} ${skip.reason}`),
  };
}

/**
 * The markings found the slow way: every minute from before `from` to after the last run read
 * on the zone's clock, so that a wall time read twice, a wall time never read (a gap) and a
 * named time read but not run show themselves.
 */
function minuteByMinute(c: ScheduleCase, runs: readonly number[]): Markings {
  const clock = ZoneClock.of(c.timeZone);
  const fields = parseCronFields(Schedule.cron(c.schedule).expression);
  const named = (wall: number): boolean => {
    const w = wallTimeOf(wall);
    return (
      fields.month.matches[w.month] &&
      dayMatches(fields, w) &&
      fields.hour.matches[w.hour] &&
      fields.minute.matches[w.minute]
    );
  };
  const from = Date.parse(c.from) / 1000;
  const end = runs[runs.length - 1];
  const inWindow = (instant: number): boolean => instant > from && instant <= end;
  const readings = new Map<number, number[]>();
  const clockReadings: { readonly instant: number; readonly wall: number }[] = [];
  for (let instant = Math.floor(from / 60) * 60 - MARGIN; instant <= end + MARGIN; instant += 60) {
    const wall = instant + clock.offsetAt(instant);
    readings.set(wall, [...(readings.get(wall) ?? []), instant]);
    clockReadings.push({ instant, wall });
  }
  const walls = [...readings.keys()];
  const skipped: { wall: number; text: string }[] = [];
  for (let wall = Math.min(...walls); wall <= Math.max(...walls); wall += 60) {
    if (!named(wall)) continue;
    const at = readings.get(wall);
    const local = new Date(wall * 1000).toISOString().slice(0, 16);
    if (!at) {
      // Never read: the clock jumped over it at the first instant reading a later time.
      const jump = clockReadings.find((reading) => reading.wall > wall)?.instant;
      if (jump !== undefined && inWindow(jump)) skipped.push({ wall, text: `${local} dst-gap` });
    } else if (at.some(inWindow) && !at.some((instant) => runs.includes(instant))) {
      skipped.push({ wall, text: `${local} stepped-over` });
    }
  }
  return {
    repeated: runs.map((run) => (readings.get(run + clock.offsetAt(run)) ?? []).length > 1),
    skipped: skipped.sort((a, b) => a.wall - b.wall).map((skip) => skip.text),
  };
}
