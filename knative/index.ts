export * from './install-manifests';
export * from './knative-manifests';
export * from './kube-object';
export * from './parse-manifests';
export * from './release-files';
export * as serving from './imports/serving.knative.dev';
export * from './import-crds';
