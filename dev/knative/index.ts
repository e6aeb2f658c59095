export * from './action-log';
export * from './start-stand-in';
export * from './traffic';
export * from './types';
