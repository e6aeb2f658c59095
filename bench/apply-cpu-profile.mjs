// Preloaded into the API by bench/apply.bench.ts with BENCH_CPU_PROF=<dir> (NODE_OPTIONS
// refuses --cpu-prof): profiles the main thread and writes <dir>/api-<pid>.cpuprofile at exit.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import process from 'node:process';

const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
process.once('exit', () => {
  // An in-process session answers synchronously, so this runs before the process ends.
  session.post('Profiler.stop', (error, result) => {
    if (!error)
      writeFileSync(
        join(process.env.BENCH_CPU_PROF ?? '.', `api-${process.pid}.cpuprofile`),
        JSON.stringify(result.profile),
      );
  });
});
