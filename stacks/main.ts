/**
 * The Pulumi program (`Pulumi.yaml` `main`): reads the stack config and installs Knative
 * Serving + Kourier, the platform and optionally the applications of `apps/`.
 */
import * as pulumi from '@pulumi/pulumi';
import { createPlatformStack, readStackConfig } from './platform-stack';

const { settings, secrets } = readStackConfig(new pulumi.Config());
const stack = createPlatformStack(settings, secrets);

export const kourierAddress = stack.kourierAddress;
export const domain = stack.domain;
export const knativeVersion = stack.knativeVersion;
export const apiUrl = stack.apiUrl;
export const appObjectCount = stack.appObjectCount;
