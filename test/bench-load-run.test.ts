import { boundedRun, countOutcomes, percentile } from '../bench/load-run';

test('percentile: nearest rank of the sorted values, 0 for none', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect(percentile(values, 50)).toBe(51);
  expect(percentile(values, 99)).toBe(100);
  expect(percentile([], 50)).toBe(0);
});

test('boundedRun: every call made once, never more than the concurrency in flight, outcomes counted', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  const figures = await boundedRun(25, 4, async (i) => {
    seen.push(i);
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    if (i % 5 === 0) throw new Error('no answer');
    return i % 2 === 0 ? 200 : 503;
  });
  expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  expect(most).toBe(4);
  expect(figures.byOutcome).toEqual(
    countOutcomes([...Array(5).fill('error'), ...Array(10).fill(200), ...Array(10).fill(503)]),
  );
  expect(figures.calls).toBe(25);
  expect(figures.p50Ms).toBeLessThanOrEqual(figures.p99Ms);
});
