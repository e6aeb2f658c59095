// Usage and cost of one function or one CronJob over the last 30 days (GET .../usage with
// groupBy=day and function= or cronjob=): the totals and a row per UTC day, costed with the
// API's price table (docs/usage-and-cost.md).

import { html } from 'htm/preact';
import { getJson, projectPath } from '../api.js';
import { Empty, Loading, ProblemMessage, useLoad } from './ui.js';

const DAYS = 30;

/** A cost in the table's currency, to the millionth. */
export function formatCost(amount, currency) {
  return `${amount.toFixed(6)} ${currency}`;
}

/** @param {{project: string, function?: string, cronjob?: string}} props */
export function UsagePanel({ project, function: fn, cronjob }) {
  const which = fn === undefined ? { cronjob } : { function: fn };
  const report = useLoad(
    (signal) => {
      const to = new Date();
      const from = new Date(to.getTime() - DAYS * 86_400_000);
      const query = new URLSearchParams({
        from: from.toISOString(),
        to: to.toISOString(),
        groupBy: 'day',
        ...which,
      });
      return getJson(`${projectPath(project, 'usage')}?${query}`, { signal });
    },
    [project, fn, cronjob],
  );
  if (report.error)
    return html`<${ProblemMessage} error=${report.error} onRetry=${report.reload} />`;
  if (!report.data) return html`<${Loading} what="usage" />`;
  const { total, items, prices } = report.data;
  const calls = fn === undefined ? 'Runs' : 'Invocations';
  const count = (f) => (fn === undefined ? f.executions : f.invocations);
  return html`<dl class="usage-summary">
      <div><dt>${calls}</dt><dd data-usage="count">${count(total)}</dd></div>
      <div><dt>Run time</dt><dd>${total.durationSeconds} s</dd></div>
      ${
        fn !== undefined &&
        html`<div>
        <dt>Cold starts</dt>
        <dd>${total.coldStarts} (${total.initSeconds} s)</dd>
      </div>`
      }
      <div><dt>vCPU-seconds</dt><dd>${total.vcpuSeconds}</dd></div>
      <div><dt>GiB-seconds</dt><dd>${total.gibSeconds}</dd></div>
      <div>
        <dt>Cost</dt>
        <dd data-usage="cost">${formatCost(total.cost.total, prices.currency)}</dd>
      </div>
    </dl>
    ${
      items.length === 0
        ? html`<${Empty}>No usage in the last ${DAYS} days.<//>`
        : html`<table class="usage-table">
          <caption class="visually-hidden">
            Usage per day (UTC), last ${DAYS} days
          </caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">${calls}</th>
              <th scope="col">Run time</th>
              <th scope="col">vCPU-s</th>
              <th scope="col">GiB-s</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            ${items.map(
              (day) =>
                html`<tr key=${day.key}>
                  <th scope="row">${day.key}</th>
                  <td>${count(day)}</td>
                  <td>${day.durationSeconds} s</td>
                  <td>${day.vcpuSeconds}</td>
                  <td>${day.gibSeconds}</td>
                  <td>${formatCost(day.cost.total, prices.currency)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`
    }
    <p class="help small">
      Requested CPU and memory × run time, at ${prices.vcpuSecond} per vCPU-second,
      ${prices.gibSecond} per GiB-second and ${prices.invocation} per call (${prices.currency}).
    </p>`;
}
