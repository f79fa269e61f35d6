type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (`on*` functions become listeners) and children; text is never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | EventListener | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
}

let messageTimer: number | undefined;

/** Shows a sentence to the user: errors stay until replaced, notes fade after a while. */
export function say(sentence: string, kind: 'error' | 'note' = 'error'): void {
  const box = byId('message');
  box.textContent = sentence;
  box.className = kind;
  box.hidden = false;
  window.clearTimeout(messageTimer);
  if (kind === 'note') messageTimer = window.setTimeout(() => (box.hidden = true), 4000);
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
