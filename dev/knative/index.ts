export * from './action-log';
export * from './stand-in';
export * from './traffic';
export * from './types';
