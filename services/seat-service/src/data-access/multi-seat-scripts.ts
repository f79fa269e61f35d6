import { OutboxFields as F } from './outbox-codec';
import { PRELUDE } from './seat-scripts';

/**
 * SPEC.md §7 scripts: several seats of one event held in ONE atomic call, all or nothing. The keys and
 * state formats are those of seat-scripts.ts; every key is declared in KEYS and carries the `{eventId}`
 * hash tag, so they run on Redis Cluster. Each newly held seat gets its own version, audit seq and
 * seat.held entry, exactly as a single hold.
 *
 * Message ids come from the caller as ARGV (UUIDs), two per seat that may be taken: the seat.held id and
 * the seat.expired id for a stale hold found on it.
 */
const MULTI_PRELUDE = `${PRELUDE}
-- Reads the event config; nil plus config, or an error word. Per-event bounds of the body are 'INVALID'
-- (a 400, which SPEC precedence puts before EVENT_NOT_ACTIVE).
local function load_event(count, highest_seat)
  local meta = redis.call('HMGET', meta_key, 'status', 'total', 'max', 'row')
  if not meta[1] then return 'NO_EVENT' end
  local total, max = tonumber(meta[2]), tonumber(meta[3])
  if count > max then return 'TOO_MANY' end
  if highest_seat > total then return 'OUT_OF_RANGE' end
  if meta[1] ~= 'active' then return 'EVENT_NOT_ACTIVE' end
  return nil, total, max, tonumber(meta[4]) or total
end

-- The user limit over the whole request: live holds, reserves and reservations plus the new seats.
local function over_limit(max, new_count, now)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  return redis.call('ZCARD', KEYS[4]) + new_count > max
end

-- Holds seat for user exactly like HOLD does (the seat is known to be free, a stale hold already expired).
local function take(seat, user, dur, msg_id, now)
  local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
  local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
  local expires = now + dur * 1000
  redis.call('HSET', seats_key, seat, table.concat({'H', user, now, expires, dur, ver}, '|'))
  redis.call('ZADD', KEYS[4], expires, seat)
  append('seat.held', msg_id, seat, user, 'held', ver, ver, aseq, now, {'${F.heldAt}', now, '${F.expiresAt}', expires})
  return expires
end
`;

/**
 * KEYS: meta, seats, outbox, userSet. ARGV: user, durationSec, n, n seats ascending, 2n message ids.
 * Replies {'HELD', now, seat, heldAt, expiresAt, created(1|0), ...} | {'FAILED', code, seat, code, ...}
 * | {error word}.
 */
const MULTI_HOLD = `${MULTI_PRELUDE}
local user, dur, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local err, total, max = load_event(n, tonumber(ARGV[3 + n]))
if err then return {err} end
local seats = {}
for i = 1, n do seats[i] = ARGV[3 + i] end
local states = redis.call('HMGET', seats_key, unpack(seats))
-- fresh: indexes of seats to take; stale[i]: the expired hold found on seat i, released only once the
-- whole request is known to succeed (a refused request writes nothing).
local failed, fresh, stale, result = {}, {}, {}, {}
for i = 1, n do
  local seat, cur = seats[i], states[i]
  local f = cur and split(cur)
  if f and f[1] == 'R' then
    failed[#failed + 1] = seat
    failed[#failed + 1] = 'SEAT_UNAVAILABLE'
  elseif f and is_live(f, now) then
    if f[2] == user then
      result[i] = {f[3], f[4], 0}
    else
      failed[#failed + 1] = seat
      failed[#failed + 1] = 'SEAT_UNAVAILABLE'
    end
  else
    stale[i] = f
    fresh[#fresh + 1] = i
  end
end
if #failed > 0 then return {'FAILED', 'SEAT_UNAVAILABLE', unpack(failed)} end
if over_limit(max, #fresh, now) then
  local out = {'FAILED', 'USER_LIMIT_REACHED'}
  for _, i in ipairs(fresh) do
    out[#out + 1] = seats[i]
    out[#out + 1] = 'USER_LIMIT_REACHED'
  end
  return out
end
for _, i in ipairs(fresh) do
  -- A hold past expiresAt is released first (seat.expired), as HOLD does; readers already saw it free.
  if stale[i] then expire_hold(seats[i], stale[i], ARGV[3 + n + 2 * i], now) end
  result[i] = {now, take(seats[i], user, dur, ARGV[3 + n + 2 * i - 1], now), 1}
end
local out = {'HELD'}
for i = 1, n do
  out[#out + 1] = seats[i]
  out[#out + 1] = result[i][1]
  out[#out + 1] = result[i][2]
  out[#out + 1] = result[i][3]
end
return out
`;

/**
 * Chooses and holds `count` seats in one call (SPEC.md §7 best available): with adjacency, the first run
 * of `count` free seats in one row, in seat-number order, that leaves no new orphan (a free seat between
 * two unavailable seats or row ends), else the first run; without, the lowest free seats. One HGETALL and
 * a linear scan: events have at most 1,000 seats.
 * KEYS: meta, seats, outbox, userSet. ARGV: user, durationSec, count, adjacent ('1'|'0'), 2*count message ids.
 * Replies like MULTI_HOLD (every seat created).
 */
const BEST_AVAILABLE = `${MULTI_PRELUDE}
local user, dur, count, adjacent = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local now = now_ms()
local err, total, max, row = load_event(count, 1)
if err then return {err} end
-- taken[s]: not available; stale[s]: a hold past expiresAt, available (expired below if chosen). Only a
-- hold's expiresAt is read here (a pattern match, no full split per seat: this loop is the hot part).
local taken, stale = {}, {}
local all = redis.call('HGETALL', seats_key)
for i = 1, #all, 2 do
  local s, cur = tonumber(all[i]), all[i + 1]
  if string.byte(cur, 1) == 72 and tonumber(string.match(cur, '^H|[^|]*|[^|]*|([^|]*)')) <= now then
    stale[s] = cur
  else
    taken[s] = true
  end
end
local chosen = {}
if adjacent then
  local first = nil
  local row_start = 1
  while row_start <= total and not chosen[1] do
    local row_end = math.min(row_start + row - 1, total)
    local s = row_start
    while s <= row_end and not chosen[1] do
      if taken[s] then
        s = s + 1
      else
        -- A maximal free segment a..b of this row; runs start at a..b-count+1.
        local a, b = s, s
        while b < row_end and not taken[b + 1] do b = b + 1 end
        for start = a, b - count + 1 do
          first = first or start
          -- A remainder of exactly one free seat on either side would be a new orphan.
          if start - a ~= 1 and b - (start + count - 1) ~= 1 then
            chosen[1] = start
            break
          end
        end
        s = b + 1
      end
    end
    row_start = row_end + 1
  end
  local start = chosen[1] or first
  if not start then return {'FAILED', 'SEAT_UNAVAILABLE'} end
  for i = 1, count do chosen[i] = start + i - 1 end
else
  for s = 1, total do
    if not taken[s] then
      chosen[#chosen + 1] = s
      if #chosen == count then break end
    end
  end
  if #chosen < count then return {'FAILED', 'SEAT_UNAVAILABLE'} end
end
if over_limit(max, count, now) then return {'FAILED', 'USER_LIMIT_REACHED'} end
local out = {'HELD'}
for i, s in ipairs(chosen) do
  local seat = tostring(s)
  if stale[s] then expire_hold(seat, split(stale[s]), ARGV[4 + 2 * i], now) end
  local expires = take(seat, user, dur, ARGV[4 + 2 * i - 1], now)
  out[#out + 1] = seat
  out[#out + 1] = now
  out[#out + 1] = expires
  out[#out + 1] = 1
end
return out
`;

export const MultiSeatScripts = {
  multiHold: { numberOfKeys: 4, lua: MULTI_HOLD },
  bestAvailable: { numberOfKeys: 4, lua: BEST_AVAILABLE },
} as const;
