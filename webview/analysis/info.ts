// The ⓘ next to a column header or a chart title (panel and report): a button that opens one shared popover with
// the number's definition, range, this result's settings and a README link (texts: webview/views/info.ts). The
// popover is a native [popover] (top layer: not clipped by the scrolling table; Escape and a click outside close
// it), opened with popovertarget so it follows its button in the tab order. Plain DOM, no inline script or style
// attribute (the CSP), colours from the page's CSS variables.
import type { InfoText } from '../views/info';

const POPOVER_ID = 'info-popover';

/** Where a README link goes instead of its href (the panel: the host opens the bundled README at the section). */
let readmeOpener: ((anchor: string) => void) | null = null;
export function setReadmeOpener(open: (anchor: string) => void): void {
  readmeOpener = open;
}

/** The shared popover, created on first use. */
function popover(doc: Document): HTMLElement {
  let pop = doc.getElementById(POPOVER_ID);
  if (pop) return pop;
  pop = doc.createElement('div');
  pop.id = POPOVER_ID;
  pop.className = 'info-popover';
  pop.setAttribute('popover', 'auto');
  pop.setAttribute('role', 'dialog');
  // beforetoggle runs synchronously as the state changes (toggle is queued): aria-expanded never lags behind it
  pop.addEventListener('beforetoggle', (e) => {
    const open = (e as Event & { newState?: string }).newState === 'open';
    for (const b of Array.from(doc.querySelectorAll<HTMLElement>(`[popovertarget="${POPOVER_ID}"]`)))
      b.setAttribute('aria-expanded', String(open && b.dataset.infoOpen === 'true'));
  });
  doc.body.append(pop);
  return pop;
}

function fill(pop: HTMLElement, t: InfoText): void {
  const doc = pop.ownerDocument;
  const p = (cls: string, label: string | null, text: string) => {
    const el = doc.createElement('p');
    el.className = cls;
    if (label) {
      const k = doc.createElement('span');
      k.className = 'info-key';
      k.textContent = `${label} `;
      el.append(k);
    }
    el.append(text);
    return el;
  };
  const title = doc.createElement('h3');
  title.className = 'info-title';
  title.id = `${POPOVER_ID}-title`;
  title.textContent = t.title;
  const link = doc.createElement('a');
  link.href = t.href;
  link.textContent = 'Read more in the README';
  link.className = 'info-link';
  link.addEventListener('click', (e) => {
    const anchor = t.href.split('#')[1];
    if (!readmeOpener || !anchor) return;
    e.preventDefault();
    readmeOpener(anchor);
  });
  const more = doc.createElement('p');
  more.append(link);
  pop.replaceChildren(
    title,
    p('info-definition', null, t.definition),
    p('info-range', 'Range:', t.range),
    ...(t.settings ? [p('info-settings', 'This result:', t.settings)] : []),
    more,
  );
  pop.setAttribute('aria-labelledby', title.id);
}

/** Places the (fixed, top-layer) popover under its button, kept inside the viewport. */
function place(pop: HTMLElement, button: HTMLElement): void {
  const win = pop.ownerDocument.defaultView!;
  const b = button.getBoundingClientRect();
  const width = Math.min(360, win.innerWidth - 16);
  pop.style.width = `${width}px`;
  pop.style.left = `${Math.max(8, Math.min(b.left, win.innerWidth - width - 8))}px`;
  pop.style.top = `${Math.round(b.bottom + 4)}px`;
  // after layout: above the button when it does not fit below
  win.requestAnimationFrame(() => {
    const h = pop.getBoundingClientRect().height;
    if (b.bottom + 4 + h > win.innerHeight && b.top - 4 - h >= 0) pop.style.top = `${Math.round(b.top - 4 - h)}px`;
  });
}

/**
 * An ⓘ button (about `name`, its accessible label) whose popover shows `text()`, read when it opens (the result
 * may have changed since the button was made). A click or Enter/Space opens it and does not reach the header it
 * sits in (no sort).
 */
export function infoButton(doc: Document, name: string, text: () => InfoText | null): HTMLButtonElement {
  const pop = popover(doc);
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'info-button';
  // the glyph is drawn by CSS (.info-button::before): the header's text stays the column's label
  b.setAttribute('aria-label', `About ${name}`);
  b.title = `About ${name}`;
  b.setAttribute('aria-haspopup', 'dialog');
  b.setAttribute('aria-expanded', 'false');
  b.setAttribute('aria-controls', POPOVER_ID);
  b.setAttribute('popovertarget', POPOVER_ID);
  b.addEventListener('click', (e) => {
    e.stopPropagation();
    // Another button's popover is open: switch it to this one (the default action then toggles it open).
    const other = pop.matches(':popover-open') && b.dataset.infoOpen !== 'true';
    for (const x of Array.from(doc.querySelectorAll<HTMLElement>('[data-info-open]'))) delete x.dataset.infoOpen;
    if (other) pop.hidePopover();
    const t = text();
    if (!t && !pop.matches(':popover-open')) e.preventDefault(); // nothing to show (no result yet): stays closed
    if (!pop.matches(':popover-open') && t) {
      b.dataset.infoOpen = 'true';
      fill(pop, t);
      place(pop, b);
    }
  });
  b.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') e.stopPropagation();
  });
  return b;
}
