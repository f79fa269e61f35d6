import { api, ApiError, pathOf } from './api.js';
import { LIMITS, PublicPaths, type Event, type Page } from './contracts.js';
import { h, say } from './dom.js';
import type { Session } from './session.js';

/** The event list, newest first, a page at a time; admins also get the create form. */
export function renderEventList(view: HTMLElement, session: Session | undefined): void {
  const list = h('ul', { id: 'events', class: 'events' });
  const more = h('button', { type: 'button', id: 'more-events', hidden: true }, 'More events');
  let cursor: string | null = null;

  const load = async () => {
    const query = new URLSearchParams({ limit: String(LIMITS.pageLimitDefault) });
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api<Page<Event>>('GET', `${pathOf(PublicPaths.events)}?${query}`, session?.token);
      for (const event of page.items) {
        list.append(
          h(
            'li',
            {},
            h('a', { href: `/events/${encodeURIComponent(event.id)}` }, event.name),
            ` — ${event.totalSeats} seats, ${event.status}`,
          ),
        );
      }
      if (page.items.length === 0 && !cursor) list.append(h('li', {}, 'No events yet.'));
      cursor = page.nextCursor;
      more.hidden = cursor === null;
    } catch (err) {
      say(`Could not load the events. ${(err as Error).message}`);
    }
  };
  more.onclick = () => void load();

  view.append(h('h2', {}, 'Events'));
  if (session?.admin) view.append(createEventForm(session));
  view.append(list, more);
  void load();
}

function numberField(id: string, label: string, attrs: Record<string, string | number>): HTMLElement {
  return h('p', {}, h('label', { for: id }, label), h('input', { id, name: id, type: 'number', ...attrs }));
}

/** Admin: create an event (rows included) and open it. */
function createEventForm(session: Session): HTMLElement {
  const form = h(
    'form',
    { id: 'create-event', class: 'panel', 'aria-label': 'Create an event' },
    h('h3', {}, 'Create an event'),
    h(
      'p',
      {},
      h('label', { for: 'event-name' }, 'Name'),
      h('input', { id: 'event-name', name: 'name', required: true, maxlength: LIMITS.nameMax }),
    ),
    numberField('total-seats', 'Seats', {
      min: LIMITS.totalSeatsMin,
      max: LIMITS.totalSeatsMax,
      value: 100,
      required: 'required',
    }),
    numberField('seats-per-row', 'Seats per row', { min: 1, max: LIMITS.totalSeatsMax, value: 10 }),
    numberField('max-per-user', 'Most seats per person', {
      min: 1,
      max: LIMITS.totalSeatsMax,
      value: LIMITS.maxSeatsPerUserDefault,
    }),
    h('button', { type: 'submit' }, 'Create event'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
    const body: Record<string, unknown> = { name: value('event-name'), totalSeats: Number(value('total-seats')) };
    if (value('seats-per-row')) body.seatsPerRow = Number(value('seats-per-row'));
    if (value('max-per-user')) body.maxSeatsPerUser = Number(value('max-per-user'));
    try {
      const event = await api<Event>('POST', pathOf(PublicPaths.events), session.token, body);
      window.location.assign(`/events/${encodeURIComponent(event.id)}`);
    } catch (err) {
      say(`The event was not created. ${err instanceof ApiError ? err.message : String(err)}`);
    }
  };
  return form;
}
