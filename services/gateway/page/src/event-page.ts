import { adminPanel, type AdminPanel } from './admin-panel.js';
import { api, ApiError, pathOf } from './api.js';
import { ErrorCodes, LIMITS, PublicPaths, type EventWithCounts, type Hold, type Seat } from './contracts.js';
import { byId, h, say } from './dom.js';
import { LiveFeed, type LiveState } from './live.js';
import { SeatBook, type SeatChange, type SeatView } from './seat-state.js';
import type { Session } from './session.js';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  resyncing: 'catching up…',
};

function seatLabel(n: number, row: number, seat: SeatView, selected: boolean): string {
  const state = seat.mine ? `${seat.status} by you` : seat.status;
  return `Seat ${n}, row ${row}, ${state}${selected ? ', selected' : ''}`;
}

/** One event: its seats in rows, live; holding, reserving and releasing by click when signed in. */
export function renderEventPage(view: HTMLElement, eventId: string, session: Session | undefined): () => void {
  let stop = () => undefined as void;
  void (async () => {
    let event: EventWithCounts;
    try {
      event = await api<EventWithCounts>('GET', pathOf(PublicPaths.event, { eventId }), session?.token);
    } catch (err) {
      view.append(h('p', {}, h('a', { href: '/' }, 'All events')));
      say(`This event could not be shown. ${(err as Error).message}`);
      return;
    }
    stop = showEvent(view, event, session);
  })();
  return () => stop();
}

function showEvent(view: HTMLElement, event: EventWithCounts, session: Session | undefined): () => void {
  const perRow = event.seatsPerRow || event.totalSeats;
  const rowOf = (n: number) => Math.ceil(n / perRow);
  const book = new SeatBook(session?.userId);
  const holds = new Map<number, number>(); // seat → expiresAt (ms)
  const selected = new Set<number>();
  const buttons = new Map<number, HTMLButtonElement>();
  let admin: AdminPanel | undefined;
  let multiRouteMissing = false;

  const statusText = h('span', { id: 'event-status-text' }, event.status);
  const counts = h('p', { id: 'counts', 'aria-live': 'polite' });
  const liveState = h('span', { id: 'live-status', class: 'live-state' }, LIVE_TEXT.connecting);
  const grid = h('div', { id: 'seats', class: 'seats', 'aria-label': 'Seats' });
  const holdList = h('ul', { id: 'my-holds' });

  const showCounts = (c: { available: number; held: number; reserved: number }) => {
    counts.textContent = `${c.available} available · ${c.held} held · ${c.reserved} reserved`;
  };
  showCounts(event.seats);

  const paint = (n: number) => {
    const seat = book.seats.get(n);
    const button = buttons.get(n);
    if (!seat || !button) return;
    const isSelected = selected.has(n);
    button.className = `seat ${seat.status}${seat.mine ? ' mine' : ''}${isSelected ? ' selected' : ''}`;
    button.dataset.status = seat.status;
    button.dataset.mine = String(seat.mine);
    button.setAttribute('aria-label', seatLabel(n, rowOf(n), seat, isSelected));
    button.setAttribute('aria-pressed', String(isSelected));
  };

  const holdSeconds = (): number | undefined => {
    const raw = (document.getElementById('hold-duration') as HTMLInputElement | null)?.value;
    return raw ? Number(raw) : undefined;
  };
  const withDuration = (body: Record<string, unknown>) => {
    const seconds = holdSeconds();
    return seconds === undefined ? body : { ...body, holdDuration: seconds };
  };

  const rememberHolds = (items: Hold[]) => {
    for (const hold of items) holds.set(hold.seatNumber, Date.parse(hold.expiresAt));
    book.markMine(items.map((hold) => hold.seatNumber)).forEach(paint);
    renderHolds();
  };

  const loadMyHolds = async () => {
    if (!session) return;
    try {
      const mine = await api<{ items: Hold[] }>(
        'GET',
        pathOf(PublicPaths.userHolds, { eventId: event.id, userId: session.userId }),
        session.token,
      );
      holds.clear();
      rememberHolds(mine.items);
    } catch (err) {
      say(`Your holds could not be read. ${(err as Error).message}`);
    }
  };

  const failed = (what: string, err: unknown) => {
    if (err instanceof ApiError) say(`${what} ${err.message}`);
    else say(`${what} ${String(err)}`);
  };

  const hold = async (n: number) => {
    if (!session) return say('Sign in (paste a token above) to hold seats.');
    try {
      const body = withDuration({});
      const result = await api<Hold>(
        'POST',
        pathOf(PublicPaths.seatHold, { eventId: event.id, seatNumber: n }),
        session.token,
        body,
      );
      rememberHolds([result]);
      say(`Seat ${n} is held for you.`, 'note');
    } catch (err) {
      failed(`Seat ${n} was not held.`, err);
    }
  };

  /** Reserve and release both end the caller's hold of seat `n`: the call, then the holds list and a note. */
  const endHold = async (n: number, method: 'POST' | 'DELETE', path: string, verb: string, note = verb) => {
    if (!session) return;
    try {
      await api<Seat | void>(method, pathOf(path, { eventId: event.id, seatNumber: n }), session.token);
      holds.delete(n);
      renderHolds();
      say(`Seat ${n} is ${note}.`, 'note');
    } catch (err) {
      failed(`Seat ${n} was not ${verb}.`, err);
    }
  };
  const reserve = (n: number) => endHold(n, 'POST', PublicPaths.seatReserve, 'reserved', 'reserved for you');
  const release = (n: number) => endHold(n, 'DELETE', PublicPaths.seatHold, 'released');

  /** Multi-seat and best-available (SPEC.md §7) may be missing on an older server: say so and hide them. */
  const multi = async (path: string, body: Record<string, unknown>, what: string) => {
    if (!session) return say('Sign in (paste a token above) to hold seats.');
    try {
      const result = await api<{ items: Hold[] }>('POST', path, session.token, withDuration(body));
      rememberHolds(result.items);
      selected.clear();
      book.seats.forEach((_seat, n) => paint(n));
      say(`Held for you: seats ${result.items.map((i) => i.seatNumber).join(', ')}.`, 'note');
    } catch (err) {
      if (err instanceof ApiError && err.code === ErrorCodes.NotFound) {
        multiRouteMissing = true;
        byId('multi-controls').hidden = true;
        say('This server does not offer multi-seat holds yet; hold seats one at a time.');
      } else failed(`${what}`, err);
    }
  };

  const clickSeat = (n: number) => {
    const seat = book.seats.get(n);
    if (!seat) return;
    const multiMode = (document.getElementById('multi-select') as HTMLInputElement | null)?.checked === true;
    if (seat.status === 'available') {
      if (multiMode && !multiRouteMissing) {
        if (selected.has(n)) selected.delete(n);
        else selected.add(n);
        paint(n);
        byId('hold-selected').textContent = `Hold selected (${selected.size})`;
      } else void hold(n);
    } else if (seat.mine && seat.status === 'held') {
      // The seat's menu: its Reserve and Release buttons in "Your holds".
      document.querySelector<HTMLButtonElement>(`#my-holds [data-reserve="${n}"]`)?.focus();
    } else if (seat.mine) say(`Seat ${n} is already reserved for you.`, 'note');
    else say(`Seat ${n} is ${seat.status} by someone else.`);
  };

  const clock = (expiresAt: number) => {
    const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    return left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left` : 'expiring…';
  };
  // Only the countdown texts change each second, so focus on a hold's buttons is kept.
  const tick = () => {
    for (const span of holdList.querySelectorAll<HTMLElement>('[data-countdown]')) {
      const expiresAt = holds.get(Number(span.dataset.countdown));
      if (expiresAt !== undefined) span.textContent = clock(expiresAt);
    }
  };

  const renderHolds = () => {
    const items = [...holds.entries()].sort((a, b) => a[0] - b[0]);
    holdList.replaceChildren(
      ...items.map(([n, expiresAt]) => {
        return h(
          'li',
          { 'data-hold': n },
          `Seat ${n} (row ${rowOf(n)}) — `,
          h('span', { class: 'countdown', 'data-countdown': n }, clock(expiresAt)),
          ' ',
          h('button', { type: 'button', 'data-reserve': n, onclick: () => void reserve(n) }, `Reserve seat ${n}`),
          ' ',
          h('button', { type: 'button', 'data-release': n, onclick: () => void release(n) }, `Release seat ${n}`),
        );
      }),
    );
    if (items.length === 0) holdList.append(h('li', {}, 'You hold no seats in this event.'));
  };

  // The grid: one group per row; the buttons stay and only their state changes, so nothing flickers.
  for (let row = 1; row <= Math.ceil(event.totalSeats / perRow); row++) {
    const group = h(
      'div',
      { class: 'row', role: 'group', 'aria-label': `Row ${row}` },
      h('span', { class: 'row-label' }, `Row ${row}`),
    );
    for (let n = (row - 1) * perRow + 1; n <= Math.min(event.totalSeats, row * perRow); n++) {
      const button = h(
        'button',
        { type: 'button', class: 'seat pending', 'data-seat': n, 'aria-label': `Seat ${n}, row ${row}, loading` },
        String(n),
      );
      button.onclick = () => clickSeat(n);
      buttons.set(n, button);
      group.append(button);
    }
    grid.append(group);
  }

  const applied = (changedSeats: number[]) => {
    changedSeats.forEach(paint);
    for (const n of changedSeats) {
      const seat = book.seats.get(n);
      if (seat && seat.status !== 'held' && holds.delete(n)) renderHolds();
      if (seat?.status !== 'available' && selected.delete(n)) paint(n);
    }
    // The event channel's copy of this page's own hold may come first: the hold's answer says it is ours.
    const live = [...holds.entries()].filter(([, expiresAt]) => expiresAt > Date.now()).map(([n]) => n);
    book.markMine(live).forEach(paint);
    // A hold the page did not make (another tab of this user): learn its expiry.
    if (changedSeats.some((n) => book.seats.get(n)?.mine && book.seats.get(n)?.status === 'held' && !holds.has(n)))
      void loadMyHolds();
    if (book.hasSnapshot) showCounts(book.counts());
    admin?.changed();
  };

  const feed = new LiveFeed(event.id, session?.token, {
    state: (state) => {
      liveState.textContent = LIVE_TEXT[state];
      liveState.dataset.state = state;
      if (state === 'reconnecting' || state === 'resyncing') book.awaitSnapshot();
    },
    snapshot: (version, seats) => {
      applied(book.applySnapshot(version, seats));
      void loadMyHolds();
    },
    changes: (changes: SeatChange[]) => applied(changes.flatMap((change) => book.apply(change))),
    problem: (sentence) => say(sentence),
    authenticated: () => undefined,
  });

  const controls = session
    ? h(
        'section',
        { class: 'panel', 'aria-label': 'Your seats' },
        h(
          'p',
          {},
          h('label', { for: 'hold-duration' }, 'Hold for (seconds)'),
          h('input', {
            id: 'hold-duration',
            type: 'number',
            min: LIMITS.holdDurationMin,
            max: LIMITS.holdDurationMax,
            value: LIMITS.holdDurationDefault,
          }),
        ),
        h(
          'div',
          { id: 'multi-controls' },
          h(
            'p',
            {},
            h('input', { id: 'multi-select', type: 'checkbox' }),
            h('label', { for: 'multi-select' }, 'Select several seats'),
          ),
          h(
            'p',
            {},
            h(
              'button',
              {
                type: 'button',
                id: 'hold-selected',
                onclick: () => {
                  if (selected.size === 0)
                    return say('Select seats first: tick "Select several seats" and click available seats.');
                  void multi(
                    pathOf(PublicPaths.multiHold, { eventId: event.id }),
                    { seats: [...selected].sort((a, b) => a - b) },
                    'The selected seats were not held.',
                  );
                },
              },
              'Hold selected (0)',
            ),
          ),
          h(
            'p',
            {},
            h('label', { for: 'best-count' }, 'Best available'),
            h('input', { id: 'best-count', type: 'number', min: 1, max: event.maxSeatsPerUser, value: 2 }),
            h('input', { id: 'best-adjacent', type: 'checkbox', checked: true }),
            h('label', { for: 'best-adjacent' }, 'side by side'),
            h(
              'button',
              {
                type: 'button',
                id: 'best',
                onclick: () => {
                  const count = Number(byId<HTMLInputElement>('best-count').value);
                  const adjacent = byId<HTMLInputElement>('best-adjacent').checked;
                  void multi(
                    pathOf(PublicPaths.bestAvailable, { eventId: event.id }),
                    { count, adjacent },
                    `No ${count} seats were held.`,
                  );
                },
              },
              'Hold best seats',
            ),
          ),
        ),
        h('h3', {}, 'Your holds'),
        holdList,
      )
    : h('p', {}, 'Sign in with a token to hold and reserve seats.');

  if (session?.admin) {
    admin = adminPanel(event, session, (status) => {
      statusText.textContent = status;
    });
  }

  const parts: (HTMLElement | null | undefined)[] = [
    h('p', {}, h('a', { href: '/' }, 'All events')),
    h('h2', {}, event.name),
    h('p', {}, 'Status: ', statusText, ' · Updates: ', liveState),
    event.description ? h('p', {}, event.description) : null,
    counts,
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'seat available' }, 'available'),
      h('span', { class: 'seat held' }, 'held'),
      h('span', { class: 'seat reserved' }, 'reserved'),
      h('span', { class: 'seat held mine' }, 'yours'),
    ),
    grid,
    controls,
    admin?.element,
  ];
  view.append(...parts.filter((part): part is HTMLElement => part instanceof HTMLElement));
  renderHolds();
  feed.start();
  const ticker = window.setInterval(tick, 1000);
  return () => {
    feed.stop();
    admin?.stop();
    window.clearInterval(ticker);
  };
}
