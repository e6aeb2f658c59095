export * from './cloud-event';
export * from './delivery';
export * from './event-triggers';
export * from './settings';
export * from './stream-grants';
export * from './triggers';
