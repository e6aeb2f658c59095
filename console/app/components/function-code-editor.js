// A source code editor: a plain <textarea> (screen readers and the browser's own editing and
// undo work as they do everywhere) with a line-number gutter, Tab indenting, and the line
// of a source error marked in the gutter and with a band across the code.

import { html } from 'htm/preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

/**
 * @param {object} props
 * @param {string} props.id the textarea's id (its label's `for`)
 * @param {string} props.value
 * @param {(value: string) => void} props.onInput
 * @param {number} [props.errorLine] the line (from 1) of the error to mark
 * @param {string} [props.describedBy] ids of the help and error texts
 * @param {number} [props.indent] spaces a Tab inserts. @default 4
 * @param {{current: HTMLTextAreaElement | null}} [props.editorRef] receives the textarea
 */
export function FunctionCodeEditor({
  id,
  value,
  onInput,
  errorLine,
  describedBy,
  indent = 4,
  editorRef,
}) {
  const area = useRef(null);
  const gutter = useRef(null);
  const band = useRef(null);
  // After Esc, Tab moves focus as usual, so the editor is no keyboard trap.
  const tabLeaves = useRef(false);
  const lines = value.split('\n').length;

  const follow = () => {
    const el = area.current;
    if (!el) return;
    if (gutter.current) gutter.current.scrollTop = el.scrollTop;
    // CSSOM properties, which the page's style-src 'self' allows (inline style attributes it does not).
    band.current?.style.setProperty('--scroll-top', `${el.scrollTop}px`);
  };
  useLayoutEffect(follow, [value, errorLine]);
  useLayoutEffect(() => {
    band.current?.style.setProperty('--error-line', String(errorLine ?? 0));
  }, [errorLine]);

  const onKeyDown = (event) => {
    if (event.key === 'Escape') {
      tabLeaves.current = true;
      return;
    }
    if (event.key !== 'Tab' || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) {
      tabLeaves.current = false;
      return;
    }
    if (tabLeaves.current) return;
    event.preventDefault();
    insertAtCaret(event.currentTarget, ' '.repeat(indent));
  };

  return html`<div class="function-editor">
    <div class="function-editor-gutter" aria-hidden="true" ref=${gutter}>
      ${Array.from(
        { length: lines },
        (_, i) =>
          html`<span key=${i} class=${i + 1 === errorLine ? 'error' : undefined}>${i + 1}</span>`,
      )}
    </div>
    <div class="function-editor-code">
      ${errorLine && html`<div class="function-editor-band" aria-hidden="true" ref=${band}></div>`}
      <textarea
        id=${id}
        ref=${(el) => {
          area.current = el;
          if (editorRef) editorRef.current = el;
        }}
        value=${value}
        onInput=${(event) => onInput(event.currentTarget.value)}
        onKeyDown=${onKeyDown}
        onBlur=${() => (tabLeaves.current = false)}
        onScroll=${follow}
        wrap="off"
        spellcheck="false"
        autocapitalize="off"
        autocomplete="off"
        rows=${Math.min(Math.max(lines + 1, 12), 30)}
        aria-invalid=${errorLine ? 'true' : undefined}
        aria-describedby=${describedBy}
      ></textarea>
    </div>
  </div>`;
}

/** Inserts text at the caret through the browser's editing, so that undo takes it back. */
function insertAtCaret(el, text) {
  if (!document.execCommand?.('insertText', false, text)) {
    el.setRangeText(text, el.selectionStart, el.selectionEnd, 'end');
    el.dispatchEvent(new globalThis.Event('input', { bubbles: true }));
  }
}

/**
 * Puts the caret at the start of `line` and scrolls it into view (from an error's "Go to line").
 * @param {HTMLTextAreaElement} el
 * @param {number} line from 1
 */
export function goToLine(el, line) {
  const lines = el.value.split('\n');
  const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  el.focus();
  el.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(globalThis.getComputedStyle(el).lineHeight) || 20;
  el.scrollTop = Math.max((line - 3) * lineHeight, 0);
}
