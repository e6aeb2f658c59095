// The signed-in token: kept in sessionStorage only (gone with the tab), sent only as the
// Authorization header by api.js; never put in a URL, a log line or the page.

const KEY = 'hks.console.token';

/**
 * The claims of a JWT, read but not verified: the API verifies every request. Throws an Error
 * saying what is wrong with a token that is no JWT or has no `projects` claim.
 * @param {string} token
 * @returns {{projects: string[], sub?: string, exp?: number}}
 */
export function tokenClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new Error('This is not a JWT: expected three parts separated by dots');
  let claims;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error('This is not a JWT: its claims are not base64url-encoded JSON');
  }
  const projects = claims?.projects;
  if (!Array.isArray(projects) || !projects.every((p) => typeof p === 'string'))
    throw new Error(
      'The token has no "projects" claim: expected a list of project names, or ["*"] for platform admins',
    );
  return claims;
}

/** Whether the claims let the caller into every project (`*`). */
export function allProjects(claims) {
  return claims.projects.includes('*');
}

/** The stored session, or null (none, unreadable or expired: then it is removed). */
export function currentSession() {
  const token = sessionStorage.getItem(KEY);
  if (!token) return null;
  try {
    const claims = tokenClaims(token);
    if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now())
      throw new Error('expired');
    return { token, claims };
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

/** @param {string} token */
export function keepToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}
