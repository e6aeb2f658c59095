import { packageVersion } from '../../constructs/package-dir';

/** The user the API image runs as (distroless' `nonroot`); the stack's Deployment runs it so too. */
export const API_IMAGE_USER = 65532;

/** Repository of the API image `npm run image:api` builds. */
export const API_IMAGE_REPOSITORY = 'hks.local/hks-api';

/**
 * The reference of the API image this checkout builds, e.g. `hks.local/hks-api:0.1.0`: what
 * `npm run image:api` names its archive and the stack's `apiImage` defaults to.
 */
export function apiImageReference(): string {
  return `${API_IMAGE_REPOSITORY}:${packageVersion()}`;
}
