export * from './hks-apps';
export * from './hks-platform';
export * from './knative-serving';
export * from './platform-stack';
export * from './stack-config';
