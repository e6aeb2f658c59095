export * from './http-mount';
export * from './server';
export * from './tool-arguments';
export * from './tools';
