export * from './async-invocations';
export * from './callback';
export * from './callback-target';
export * from './queue-store';
export * from './settings';
export * from './submission';
export * from './view';
export * from './worker';
