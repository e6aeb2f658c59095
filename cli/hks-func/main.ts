/**
 * `hks-func` — deploy, invoke and watch Functions and CronJobs through the HKS API.
 * `npm run hks-func -- --help`, or the `hks-func` bin (bin/hks-func.js).
 */
import { processIo } from './context';
import { runHksFunc } from './program';

// A reader that stops early (`hks-func logs x | head`) closes the pipe: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

void runHksFunc(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
