/**
 * Starts tracing from the OTEL_* variables as a side effect of being imported: `api/main.ts`
 * imports it first, before anything loads http or express (see api/tracing.ts).
 */
import { startTracing } from './tracing';

startTracing(process.env);
