export * from './component-args';
export * from './hks-apps';
export * from './hks-platform';
export * from './knative-serving';
export * from './platform-stack';
export * from './setting-rules';
export * from './stack-config';
