/**
 * `hks-func` — deploy, invoke and watch Functions and CronJobs through the HKS API.
 * `npm run hks-func -- --help`, or the `hks-func` bin (bin/hks-func.js).
 */
import { processIo } from './context';
import { runHksFunc } from './program';

void runHksFunc(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
