// A confirmation as a modal <dialog>: the browser keeps the focus inside it and makes the page
// behind inert; Escape cancels; the focus goes back to what opened it when it closes.

import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import { ProblemMessage } from './ui.js';

/**
 * @param {object} props
 * @param {boolean} props.open
 * @param {string} props.title the dialog's heading and accessible name
 * @param {string} props.confirmLabel the confirming button's text, e.g. `Delete`
 * @param {() => void} props.onConfirm
 * @param {() => void} props.onCancel
 * @param {boolean} [props.busy] the confirmed action runs: both buttons disabled
 * @param {Error} [props.error] the action's problem, shown inside the dialog
 * @param {unknown} [props.children] what the dialog says and asks
 */
export function ConfirmDialog({
  open,
  title,
  confirmLabel,
  onConfirm,
  onCancel,
  busy,
  error,
  children,
}) {
  const dialog = useRef(null);
  const cancel = useRef(null);
  const opener = useRef(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) {
      opener.current = document.activeElement;
      element.showModal();
      // The safe choice takes the focus first.
      cancel.current?.focus();
    } else if (!open && element.open) {
      element.close();
    }
  }, [open]);
  const onClose = () => {
    opener.current?.focus?.();
    opener.current = null;
  };
  return html`<dialog
    ref=${dialog}
    class="cj-dialog"
    aria-labelledby="cj-dialog-title"
    onCancel=${(e) => {
      e.preventDefault();
      if (!busy) onCancel();
    }}
    onClose=${onClose}
  >
    <form
      method="dialog"
      onSubmit=${(e) => {
        e.preventDefault();
        onConfirm();
      }}
    >
      <h2 id="cj-dialog-title">${title}</h2>
      ${children}
      <${ProblemMessage} error=${error} />
      <div class="cj-actions">
        <button type="button" class="secondary" ref=${cancel} onClick=${onCancel} disabled=${busy}>
          Cancel
        </button>
        <button type="submit" class="cj-danger" disabled=${busy}>${busy ? 'Working…' : confirmLabel}</button>
      </div>
    </form>
  </dialog>`;
}
