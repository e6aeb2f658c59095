/**
 * Entry point of a definition worker thread: runs {@link DefinitionJob}s posted by
 * {@link DefinitionWorkerPool}, one at a time, and posts back each result or error.
 */
import { parentPort } from 'node:worker_threads';
import { DefinitionJob, runDefinitionJob } from './definition-worker-jobs';
import { toWireError, WorkerReply } from './definition-worker-wire';

parentPort?.on('message', (job: DefinitionJob) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, result: runDefinitionJob(job) };
  } catch (error) {
    reply = { ok: false, error: toWireError(error) };
  }
  parentPort?.postMessage(reply);
});
// Its modules are loaded: jobs' time limits count from here.
parentPort?.postMessage('ready');
