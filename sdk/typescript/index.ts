export * from './applications';
export * from './client';
export * from './cron-jobs';
export * from './errors';
export * from './function-schedules';
export * from './functions';
export * from './operations';
export * from './types';
