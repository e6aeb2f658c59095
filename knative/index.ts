export * as serving from './imports/serving.knative.dev';
export * from './import-crds';
