import { api, pathOf } from './api.js';
import { PublicPaths, type AuditEntry, type EventStatus, type EventWithCounts, type Page } from './contracts.js';
import { formatTime, h, say } from './dom.js';
import type { Session } from './session.js';

const STATUSES: EventStatus[] = ['active', 'inactive', 'cancelled'];
const HISTORY_PAGES = 20;
/** The audit trail is complete within 1 s of an action (SPEC.md §3), so it is re-read a little after a change. */
const HISTORY_LAG_MS = 1100;

export interface AdminPanel {
  element: HTMLElement;
  /** A seat changed: refresh the audit trail once it has caught up. */
  changed(): void;
  stop(): void;
}

/** Admin: the event's status and its audit trail, refreshed as changes arrive. */
export function adminPanel(
  event: EventWithCounts,
  session: Session,
  onStatus: (status: EventStatus) => void,
): AdminPanel {
  const select = h('select', { id: 'event-status' });
  for (const status of STATUSES) {
    const option = h('option', { value: status }, status);
    option.selected = status === event.status;
    select.append(option);
  }
  const apply = h('button', { type: 'button', id: 'apply-status' }, 'Change status');
  apply.onclick = async () => {
    try {
      const updated = await api<EventWithCounts>(
        'PATCH',
        pathOf(PublicPaths.event, { eventId: event.id }),
        session.token,
        {
          status: select.value,
        },
      );
      onStatus(updated.status);
      say(`The event is now ${updated.status}.`, 'note');
    } catch (err) {
      say(`The status was not changed. ${(err as Error).message}`);
    }
  };
  const rows = h('tbody', {});
  const table = h(
    'table',
    { id: 'history' },
    h('caption', {}, 'Audit trail (oldest first)'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, '#'),
        h('th', {}, 'When'),
        h('th', {}, 'Action'),
        h('th', {}, 'Seat'),
        h('th', {}, 'User'),
      ),
    ),
    rows,
  );

  let timer: number | undefined;
  let stopped = false;
  const load = async () => {
    try {
      const entries: AuditEntry[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < HISTORY_PAGES; i++) {
        const query = new URLSearchParams({ limit: '100' });
        if (cursor) query.set('cursor', cursor);
        const page: Page<AuditEntry> = await api<Page<AuditEntry>>(
          'GET',
          `${pathOf(PublicPaths.history, { eventId: event.id })}?${query}`,
          session.token,
        );
        entries.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      if (stopped) return;
      rows.replaceChildren(
        ...entries.map((entry) =>
          h(
            'tr',
            {},
            h('td', {}, String(entry.seq)),
            h('td', {}, formatTime(entry.at)),
            h('td', {}, entry.action),
            h('td', {}, String(entry.seatNumber)),
            h('td', {}, entry.userId),
          ),
        ),
      );
    } catch (err) {
      say(`The audit trail could not be read. ${(err as Error).message}`);
    }
  };
  void load();

  return {
    element: h(
      'section',
      { class: 'panel', id: 'admin', 'aria-label': 'Event administration' },
      h('h3', {}, 'Administration'),
      h('p', {}, h('label', { for: 'event-status' }, 'Status'), select, apply),
      table,
    ),
    changed() {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void load(), HISTORY_LAG_MS);
    },
    stop() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
