import { renderEventList } from './event-list.js';
import { renderEventPage } from './event-page.js';
import { byId } from './dom.js';
import { currentSession, setUpSignIn } from './session.js';

let leave: (() => void) | undefined;

/** `/` lists events; `/events/:id` shows one event's live seat map. */
function route(): void {
  leave?.();
  leave = undefined;
  setUpSignIn(route);
  const view = byId('view');
  view.replaceChildren();
  const session = currentSession();
  const match = /^\/events\/([^/]+)\/?$/.exec(window.location.pathname);
  if (match) leave = renderEventPage(view, decodeURIComponent(match[1]!), session);
  else renderEventList(view, session);
}

route();
