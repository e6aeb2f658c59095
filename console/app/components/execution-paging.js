// Pages of executions, newest first, with the API's cursor: the first page refreshes by
// itself (new runs appear there), "Older" follows nextCursor, "Newer" goes back one page.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { useLoad } from './ui.js';
import { apiQueryOf } from './execution-time-range.js';

export const PAGE_SIZE = 20;
/** How often the first page is read again. */
export const REFRESH_MS = 5000;

/**
 * The current page of `path` (an executions route) under `filters`; back to the first page
 * whenever the path or the filters change.
 * @param {string} path relative to /api/v1/, without a query
 * @param {object} filters as filtersOf gives them
 */
export function useExecutionPages(path, filters) {
  // The cursors of the pages seen, the first page's undefined.
  const [pages, setPages] = useState({ key: '', cursors: [undefined] });
  const key = `${path}?${JSON.stringify(filters)}`;
  const cursors = pages.key === key ? pages.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const first = cursor === undefined;
  const page = useLoad(
    (signal) => {
      // A preset's `since` is counted back from each load.
      const params = new URLSearchParams({
        limit: String(PAGE_SIZE),
        ...apiQueryOf(filters, Date.now()),
      });
      if (cursor) params.set('cursor', cursor);
      return getJson(`${path}?${params}`, { signal });
    },
    [key, cursor],
    { refreshMs: first ? REFRESH_MS : undefined },
  );
  return {
    page,
    first,
    older: () => setPages({ key, cursors: [...cursors, page.data.nextCursor] }),
    newer: () => setPages({ key, cursors: cursors.slice(0, -1) }),
    restart: () => {
      setPages({ key, cursors: [undefined] });
      page.reload();
    },
  };
}

/** "Newer" and "Older" of {@link useExecutionPages}; `label` names the pages for screen readers. */
export function Pager({ pages, label = 'Pages of executions' }) {
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" class="secondary" disabled=${pages.first} onClick=${pages.newer}>
      Newer
    </button>
    <button
      type="button"
      class="secondary"
      disabled=${!pages.page.data?.nextCursor}
      onClick=${pages.older}
    >
      Older
    </button>
  </nav>`;
}
