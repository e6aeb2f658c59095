import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../api/config';
import { createLogger, lineLogger, type LoggerOptions } from '../api/logger';

/** HKS_LOG_LEVEL and HKS_LOG_FORMAT are checked at start; the logger writes pino JSON lines. */

const SECRET = 'user-secret-of-at-least-thirty-two-bytes!';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ HKS_JWT_SECRET: SECRET, ...env }, '/tmp');
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

/** A logger writing into a list of lines. */
function captured(options: Omit<LoggerOptions, 'destination'> = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ ...options, destination });
  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, parsed };
}

test('log level and format default to info and json', () => {
  const config = loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp');
  expect(config.logLevel).toBe('info');
  expect(config.logFormat).toBe('json');
  expect(
    loadConfig({ HKS_JWT_SECRET: SECRET, HKS_LOG_LEVEL: 'warn', HKS_LOG_FORMAT: 'pretty' }, '/tmp'),
  ).toMatchObject({ logLevel: 'warn', logFormat: 'pretty' });
});

test('a bad log level or format is refused, naming the variable, the value and the choices', () => {
  expect(problemsOf({ HKS_LOG_LEVEL: 'verbose', HKS_LOG_FORMAT: 'xml' })).toEqual([
    'HKS_LOG_LEVEL: given "verbose", expected one of trace, debug, info, warn, error, fatal, silent',
    'HKS_LOG_FORMAT: given "xml", expected one of json, pretty',
  ]);
  // Level names are lower case, as pino spells them.
  expect(problemsOf({ HKS_LOG_LEVEL: 'INFO' })).toEqual([
    'HKS_LOG_LEVEL: given "INFO", expected one of trace, debug, info, warn, error, fatal, silent',
  ]);
});

test('a JSON line has the level name, an ISO time, the fields and msg', () => {
  const { logger, parsed } = captured();
  logger.child({ component: 'recorder' }).info({ port: 8080 }, 'listening');
  const [line] = parsed();
  expect(line).toMatchObject({
    level: 'info',
    component: 'recorder',
    port: 8080,
    msg: 'listening',
  });
  expect(new Date(String(line.time)).toISOString()).toBe(line.time);
});

test('levels below the configured one are dropped', () => {
  const { logger, parsed } = captured({ level: 'warn' });
  logger.debug('debug');
  logger.info('info');
  logger.warn('warn');
  logger.error('error');
  expect(parsed().map((line) => line.msg)).toEqual(['warn', 'error']);
  const silent = captured({ level: 'silent' });
  silent.logger.fatal('fatal');
  expect(silent.lines).toEqual([]);
});

test('an err field is logged with its type, message, stack and cause', () => {
  const { logger, parsed } = captured();
  const cause = new TypeError('connection refused');
  logger.error({ err: new Error('store unreachable', { cause }) }, 'unhandled error');
  expect(parsed()[0].err).toEqual({
    type: 'Error',
    message: 'store unreachable',
    stack: expect.stringContaining('Error: store unreachable'),
    cause: {
      type: 'TypeError',
      message: 'connection refused',
      stack: expect.stringContaining('TypeError: connection refused'),
    },
  });
});

test("a component's line logs at info, at warn when it names a failure", () => {
  const { logger, parsed } = captured();
  const log = lineLogger(logger.child({ component: 'janitor' }));
  log('swept', { deleted: 2 });
  log('sweep failed', { error: 'timeout' });
  log('could not start', { err: new Error('no cluster') });
  expect(parsed().map(({ level, msg }) => [level, msg])).toEqual([
    ['info', 'swept'],
    ['warn', 'sweep failed'],
    ['warn', 'could not start'],
  ]);
  expect(parsed()[1]).toMatchObject({ component: 'janitor', error: 'timeout' });
});

test('pretty lines name the time, level, component, message, fields and stack', () => {
  const { logger, lines } = captured({ format: 'pretty' });
  logger.child({ component: 'leader' }).warn({ lease: 'hks', err: new Error('lost') }, 'renew');
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z WARN {2}\[leader\] renew lease=hks$/);
  expect(lines[1]).toBe('    Error: lost');
});
