export * from './rbac';
