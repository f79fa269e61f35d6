/**
 * Redis Lua scripts: every seat rule that decides who gets a seat runs as ONE atomic script per event.
 * All keys of an event share the hash tag `{eventId}` so the scripts also run on Redis Cluster.
 *
 * Per event (base = `<prefix>seat:{<eventId>}:`):
 *   base..'meta'         hash: status, total, max, row (seats per row; absent = total), rev (config
 *                        revision), ver (seat-change counter), aseq (audit sequence)
 *   base..'seats'        hash: seatNumber -> state (absent = available)
 *                          H|user|heldAt|expiresAt|durationSec|holdVersion                        held
 *                          P|user|heldAt|expiresAt|durationSec|holdVersion|deadline|ver|aseq     reserve in flight
 *                          R|user|reservedAt|holdVersion[|reservedMsgId]                           reserved
 *                          (reservedMsgId: the seat.reserved already appended for it, so a second
 *                          finish of the same reserve appends nothing)
 *   base..'user:'..id    sorted set of the user's seats: score expiresAt for a hold, +inf while reserving
 *                        or reserved, so live seats are counted in O(log n)
 *   base..'outbox'       stream of domain events appended in the same script as the change
 * Time is Redis server time, so every replica agrees on when a hold expires.
 *
 * KEYS layout, shared by every script: meta, seats, outbox, then the caller's user set (and, for
 * INSTALL_EVENT, the user set of every restored reservation). Scripts that neither append nor touch a user
 * set take meta and seats only. Every key a script touches is declared, with one exception the caller
 * cannot know in advance: the user set of a PREVIOUS holder, whose stale hold (or overridden reserve) the
 * script finds on the seat. That key is derived from KEYS[1] and carries the same `{eventId}` hash tag, so
 * it is in the slot of the declared keys, which Redis Cluster requires (and the cluster test run covers).
 */

import { OutboxFields as F } from './outbox-codec';

/** The consumer group the outbox relays read the event streams with. */
export const OUTBOX_GROUP = 'relay';

/** Helpers every seat script starts with (multi-seat-scripts.ts builds on them too). */
export const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^|]+') do out[#out + 1] = part end
  return out
end

local base = string.sub(KEYS[1], 1, -5)
local meta_key, seats_key, outbox_key = KEYS[1], KEYS[2], KEYS[3]

local function user_key(user) return base .. 'user:' .. user end

local function append(kind, msg_id, seat, user, status, ver, hold_ver, aseq, at, extra)
  local args = {outbox_key, 'MAXLEN', '~', '1000000', '*', '${F.type}', kind, '${F.messageId}', msg_id,
    '${F.seat}', seat, '${F.user}', user, '${F.status}', status, '${F.version}', ver, '${F.holdVersion}', hold_ver,
    '${F.auditSeq}', aseq, '${F.at}', at}
  if extra then for _, x in ipairs(extra) do args[#args + 1] = x end end
  redis.call('XADD', unpack(args))
end

-- Releases a hold whose expiresAt passed; emits seat.expired.
local function expire_hold(seat, f, msg_id, now)
  redis.call('HDEL', seats_key, seat)
  redis.call('ZREM', user_key(f[2]), seat)
  local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
  local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
  append('seat.expired', msg_id, seat, f[2], 'available', ver, f[6], aseq, now, {'${F.heldAt}', f[3], '${F.expiresAt}', f[4]})
end

-- Loads the event config and the seat; returns an error code, or nil plus the parsed state.
local function load(seat, need_active)
  local meta = redis.call('HMGET', meta_key, 'status', 'total', 'max')
  if not meta[1] then return 'NO_EVENT' end
  if tonumber(seat) > tonumber(meta[2]) then return 'SEAT_NOT_FOUND' end
  if need_active and meta[1] ~= 'active' then return 'EVENT_NOT_ACTIVE' end
  local cur = redis.call('HGET', seats_key, seat)
  local f = nil
  if cur then f = split(cur) end
  return nil, f, tonumber(meta[3])
end

local function is_live(f, now)
  return f[1] == 'R' or f[1] == 'P' or tonumber(f[4]) > now
end

-- The rule every action on "my hold" shares (SPEC precedence among the 409s): nil when the caller holds
-- the seat live (held or reserve in flight), otherwise the error word. A hold found past expiresAt is
-- released on the spot.
local function require_own_live_hold(seat, f, user, expired_msg_id, now)
  if not f then return 'HOLD_NOT_FOUND' end
  if f[1] == 'R' then
    if f[2] == user then return 'HOLD_NOT_FOUND' end
    return 'SEAT_UNAVAILABLE'
  end
  if not is_live(f, now) then
    expire_hold(seat, f, expired_msg_id, now)
    return 'HOLD_NOT_FOUND'
  end
  if f[2] ~= user then return 'SEAT_UNAVAILABLE' end
  return nil
end
`;

/** KEYS: meta, seats, outbox, userSet. ARGV: seat, user, durationSec, msgId, expiredMsgId. */
const HOLD = `${PRELUDE}
local seat, user, dur = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local err, f, max = load(seat, true)
if err then return {err} end
if f then
  if f[1] == 'R' then return {'SEAT_UNAVAILABLE'} end
  if is_live(f, now) then
    if f[2] == user then return {'EXISTING', f[3], f[4]} end
    return {'SEAT_UNAVAILABLE'}
  end
  expire_hold(seat, f, ARGV[5], now)
end
-- Holds that expired drop out of the user's count; what remains is live holds, reserves and reservations.
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if redis.call('ZCARD', KEYS[4]) >= max then return {'USER_LIMIT_REACHED'} end
local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
local expires = now + dur * 1000
redis.call('HSET', seats_key, seat, table.concat({'H', user, now, expires, dur, ver}, '|'))
redis.call('ZADD', KEYS[4], expires, seat)
append('seat.held', ARGV[4], seat, user, 'held', ver, ver, aseq, now, {'${F.heldAt}', now, '${F.expiresAt}', expires})
return {'HELD', now, expires}
`;

/** KEYS: meta, seats, outbox, userSet. ARGV: seat, user, durationSec ('' = keep the hold's), msgId, expiredMsgId. */
const REFRESH = `${PRELUDE}
local seat, user = ARGV[1], ARGV[2]
local now = now_ms()
local err, f = load(seat, true)
if err then return {err} end
local refused = require_own_live_hold(seat, f, user, ARGV[5], now)
if refused then return {refused} end
local dur = tonumber(ARGV[3]) or tonumber(f[5])
local expires = now + dur * 1000
f[4] = expires
f[5] = dur
redis.call('HSET', seats_key, seat, table.concat(f, '|'))
if f[1] == 'H' then redis.call('ZADD', KEYS[4], expires, seat) end
-- Not a seat change: the message keeps the seat's version, which for a hold is its hold version. (The event's
-- counter would collide with a reserve in flight, which has already taken the next version.)
local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
append('seat.refreshed', ARGV[4], seat, user, 'held', f[6], f[6], aseq, now, {'${F.heldAt}', f[3], '${F.expiresAt}', expires})
return {'REFRESHED', f[3], expires}
`;

/** KEYS: meta, seats, outbox, userSet. ARGV: seat, user, msgId, expiredMsgId. */
const RELEASE = `${PRELUDE}
local seat, user = ARGV[1], ARGV[2]
local now = now_ms()
local err, f = load(seat, false)
if err then return {err} end
local refused = require_own_live_hold(seat, f, user, ARGV[4], now)
if refused then return {refused} end
-- A reserve of this hold is committing right now; the hold can no longer be given back.
if f[1] == 'P' then return {'HOLD_NOT_FOUND'} end
redis.call('HDEL', seats_key, seat)
redis.call('ZREM', KEYS[4], seat)
local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
append('seat.released', ARGV[3], seat, user, 'available', ver, f[6], aseq, now, {'${F.heldAt}', f[3], '${F.expiresAt}', f[4]})
return {'RELEASED'}
`;

/**
 * First step of a reserve: the caller's live hold becomes "reserve in flight" (P) so that neither expiry
 * nor anyone else can take the seat while PostgreSQL commits. A second reserve by the holder joins it.
 * KEYS: meta, seats, outbox, userSet. ARGV: seat, user, deadlineMs (from now), expiredMsgId.
 */
const BEGIN_RESERVE = `${PRELUDE}
local seat, user = ARGV[1], ARGV[2]
local now = now_ms()
local err, f = load(seat, true)
if err then return {err} end
if f and f[1] == 'R' and f[2] == user then return {'ALREADY', f[3]} end
local refused = require_own_live_hold(seat, f, user, ARGV[4], now)
if refused then return {refused} end
if f[1] == 'P' then return {'BEGIN', f[6], f[8], f[9]} end
local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
f[1] = 'P'
f[7] = now + tonumber(ARGV[3])
f[8] = ver
f[9] = aseq
redis.call('HSET', seats_key, seat, table.concat(f, '|'))
redis.call('ZADD', KEYS[4], '+inf', seat)
return {'BEGIN', f[6], ver, aseq}
`;

/**
 * First step of a multi-seat reserve (SPEC.md §7): all or nothing. Every seat must be the caller's live
 * hold (it becomes "reserve in flight" like BEGIN_RESERVE) or already the caller's reservation; otherwise
 * nothing changes and every failing seat is named with its code.
 * KEYS: meta, seats, outbox, userSet. ARGV: user, deadlineMs (from now), then seat, expiredMsgId pairs
 * in ascending seat order.
 * Reply: {'REFUSED', seat, code, ...} | {'BAD_SEATS'} | {'BEGUN', seat, 'ALREADY'|'BEGIN', a, b, c, ...}
 */
const BEGIN_RESERVE_MANY = `${PRELUDE}
local user, deadline = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
local meta = redis.call('HMGET', meta_key, 'status', 'total', 'max')
if not meta[1] then return {'NO_EVENT'} end
if (#ARGV - 2) / 2 > tonumber(meta[3]) then return {'BAD_SEATS'} end
for i = 3, #ARGV, 2 do
  if tonumber(ARGV[i]) > tonumber(meta[2]) then return {'BAD_SEATS'} end
end
if meta[1] ~= 'active' then return {'EVENT_NOT_ACTIVE'} end
local refused, states = {}, {}
for i = 3, #ARGV, 2 do
  local seat = ARGV[i]
  local cur = redis.call('HGET', seats_key, seat)
  local f = cur and split(cur)
  states[seat] = f
  if not (f and f[1] == 'R' and f[2] == user) then
    local err = require_own_live_hold(seat, f, user, ARGV[i + 1], now)
    if err then
      refused[#refused + 1] = seat
      refused[#refused + 1] = err
    end
  end
end
if #refused > 0 then return {'REFUSED', unpack(refused)} end
local out = {'BEGUN'}
for i = 3, #ARGV, 2 do
  local seat = ARGV[i]
  local f = states[seat]
  if f[1] == 'R' then
    for _, x in ipairs({seat, 'ALREADY', f[3], 0, 0}) do out[#out + 1] = x end
  elseif f[1] == 'P' then
    for _, x in ipairs({seat, 'BEGIN', f[6], f[8], f[9]}) do out[#out + 1] = x end
  else
    local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
    local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
    f[1] = 'P'
    f[7] = now + deadline
    f[8] = ver
    f[9] = aseq
    redis.call('HSET', seats_key, seat, table.concat(f, '|'))
    redis.call('ZADD', KEYS[4], '+inf', seat)
    for _, x in ipairs({seat, 'BEGIN', f[6], ver, aseq}) do out[#out + 1] = x end
  end
end
return out
`;

/**
 * Last step of a reserve, after PostgreSQL committed it (PostgreSQL is the truth, so this always wins).
 * When a message id is given, seat.reserved is appended to the event's stream here, behind the seat's
 * earlier events, so it is published in order; the PostgreSQL outbox copy is only the fallback.
 * KEYS: meta, seats, outbox, userSet. ARGV: seat, user, reservedAtMs, holdVersion [, msgId, version, auditSeq].
 */
const FINISH_RESERVE = `${PRELUDE}
local seat, user = ARGV[1], ARGV[2]
local cur = redis.call('HGET', seats_key, seat)
local f = cur and split(cur)
-- The reserve, the stalled-reserve settlement and the unfinished-reserve sweep may all finish one reserve:
-- its seat.reserved is appended once.
if ARGV[5] and f and f[1] == 'R' and f[2] == user and f[5] == ARGV[5] then return {'OK'} end
-- A concurrent reserve by the same holder may have recorded the seat already; the event is still ours.
if not (f and f[1] == 'R' and f[2] == user) then
  if f and f[1] ~= 'R' and f[2] ~= user then redis.call('ZREM', user_key(f[2]), seat) end
  redis.call('ZADD', KEYS[4], '+inf', seat)
end
local record = {'R', user, ARGV[3], ARGV[4]}
if ARGV[5] then
  record[5] = ARGV[5]
  append('seat.reserved', ARGV[5], seat, user, 'reserved', ARGV[6], ARGV[4], ARGV[7], ARGV[3], {'${F.reservedAt}', ARGV[3]})
elseif f and f[1] == 'R' and f[2] == user then
  record = f
end
redis.call('HSET', seats_key, seat, table.concat(record, '|'))
return {'OK'}
`;

/**
 * Undo step one when the commit failed: the hold is back as it was.
 * KEYS: meta, seats, outbox, userSet (of the reserving user). ARGV: seat, holdVersion.
 */
const ABORT_RESERVE = `${PRELUDE}
local seat = ARGV[1]
local cur = redis.call('HGET', seats_key, seat)
if not cur then return {'GONE'} end
local f = split(cur)
if f[1] ~= 'P' or f[6] ~= ARGV[2] then return {'GONE'} end
redis.call('HSET', seats_key, seat, table.concat({'H', f[2], f[3], f[4], f[5], f[6]}, '|'))
redis.call('ZADD', user_key(f[2]), f[4], seat)
return {'OK'}
`;

/**
 * Expiry of one hold version (called by the expiry worker through HTTP). Fenced by holdVersion.
 * KEYS: meta, seats, outbox (the holder's user set is the previous-holder exception above).
 * ARGV: seat, holdVersion, msgId.
 */
const EXPIRE = `${PRELUDE}
local seat, hv = ARGV[1], ARGV[2]
local now = now_ms()
local cur = redis.call('HGET', seats_key, seat)
if not cur then return {'GONE'} end
local f = split(cur)
if f[1] == 'R' or (f[1] == 'H' and f[6] ~= hv) or (f[1] == 'P' and f[6] ~= hv) then return {'GONE'} end
if f[1] == 'P' then
  if tonumber(f[7]) > now then return {'NOT_DUE', math.max(tonumber(f[4]), tonumber(f[7]))} end
  return {'STALLED', f[2], f[6]}
end
if tonumber(f[4]) > now then return {'NOT_DUE', f[4]} end
expire_hold(seat, f, ARGV[3], now)
return {'EXPIRED', f[4]}
`;

/** Snapshot of an event for reads. KEYS: meta, seats. Returns {now, status, total, ver, flatStates...}. */
const SNAPSHOT = `${PRELUDE}
local meta = redis.call('HMGET', meta_key, 'status', 'total', 'ver')
if not meta[1] then return {'NO_EVENT'} end
return {'OK', now_ms(), meta[1], meta[2], meta[3] or '0', redis.call('HGETALL', seats_key)}
`;

/** One seat for reads. KEYS: meta, seats. ARGV: seat. */
const SEAT = `${PRELUDE}
local meta = redis.call('HMGET', meta_key, 'status', 'total')
if not meta[1] then return {'NO_EVENT'} end
if tonumber(ARGV[1]) > tonumber(meta[2]) then return {'SEAT_NOT_FOUND'} end
return {'OK', now_ms(), redis.call('HGET', seats_key, ARGV[1]) or ''}
`;

/** A user's seats for reads. KEYS: meta, seats, outbox, userSet. */
const USER_SEATS = `${PRELUDE}
local meta = redis.call('HMGET', meta_key, 'status')
if not meta[1] then return {'NO_EVENT'} end
local now = now_ms()
local out = {'OK', now}
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. now, '+inf')) do
  out[#out + 1] = s
  out[#out + 1] = redis.call('HGET', seats_key, s) or ''
end
return out
`;

/**
 * Installs, updates or reconciles an event. A newer revision replaces status/total/max. The counters are
 * raised to counterFloor (above everything already published, so versions keep growing) and every given
 * reservation from PostgreSQL is recorded: on first install (also after Redis lost all its data) and when
 * reconciling after Redis may have lost its last writes (revision '' and no config: see EventDirectory).
 * A fresh install (Redis lost the event, or never had it) also announces the holds PostgreSQL's audit shows
 * open as ended (seat.expired; Redis lost them), in this same step, so no one can hold such a seat before
 * its holder and subscribers were told.
 * KEYS: meta, seats, outbox, then the user set of every restored reservation's user. ARGV: revision,
 * status, total, max, counterFloor, seatsPerRow, reservationCount, then seat,user,reservedAt,holdVersion
 * per reservation, then seat,user,holdVersion,heldAt,expiresAt,msgId per lost hold.
 */
const INSTALL_EVENT = `${PRELUDE}
local rev = tonumber(redis.call('HGET', meta_key, 'rev') or '0')
local fresh = redis.call('EXISTS', meta_key) == 0
if ARGV[1] == '' then
  -- Reconciling (no config given) only repairs an event Redis still has; a missing one is loaded in full.
  if fresh then return {'NO_EVENT'} end
elseif tonumber(ARGV[1]) > rev then
  redis.call('HSET', meta_key, 'rev', ARGV[1], 'status', ARGV[2], 'total', ARGV[3], 'max', ARGV[4], 'row', ARGV[6])
end
-- Counters only move up, so after any loss (all data, or the last second of an AOF, or writes a promoted
-- replica never got) they resume above every version and audit seq PostgreSQL has seen.
local floor = tonumber(ARGV[5])
for _, counter in ipairs({'ver', 'aseq'}) do
  if fresh or tonumber(redis.call('HGET', meta_key, counter) or '0') < floor then
    redis.call('HSET', meta_key, counter, floor)
  end
end
-- PostgreSQL is the truth for reservations: a seat it has reserved is reserved here, whatever Redis kept.
local holds_from = 8 + 4 * tonumber(ARGV[7])
for i = 8, holds_from - 1, 4 do
  local seat, user = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', seats_key, seat)
  local f = cur and split(cur)
  if not (f and f[1] == 'R' and f[2] == user) then
    if f and f[2] ~= user then redis.call('ZREM', user_key(f[2]), seat) end
    redis.call('HSET', seats_key, seat, table.concat({'R', user, ARGV[i + 2], ARGV[i + 3]}, '|'))
    redis.call('ZADD', user_key(user), '+inf', seat)
  end
end
-- The relay's consumer group; created here so it exists before the first event is appended.
pcall(redis.call, 'XGROUP', 'CREATE', outbox_key, '${OUTBOX_GROUP}', '0', 'MKSTREAM')
if fresh then
  local now = now_ms()
  for i = holds_from, #ARGV, 6 do
    local seat = ARGV[i]
    if redis.call('HEXISTS', seats_key, seat) == 0 then
      local ver = redis.call('HINCRBY', meta_key, 'ver', 1)
      local aseq = redis.call('HINCRBY', meta_key, 'aseq', 1)
      append('seat.expired', ARGV[i + 5], seat, ARGV[i + 1], 'available', ver, ARGV[i + 2], aseq, now,
        {'${F.heldAt}', ARGV[i + 3], '${F.expiresAt}', ARGV[i + 4]})
    end
  end
end
return {fresh and 'INSTALLED' or 'UPDATED'}
`;

/**
 * Deletes an idle event's keys (issue: per-event keys are never deleted otherwise). Idle: every change was
 * relayed (the stream is empty), the last one is older than ARGV[1] ms, and no seat is held or being
 * reserved. Reservations live on in PostgreSQL; the next use of the event loads it again (config from the
 * event-service, reservations and counters from PostgreSQL), so nothing is lost and versions keep growing.
 * KEYS: meta, seats, outbox (the users' sets of its reservations are the derived-key exception above).
 */
const EVICT_IF_IDLE = `${PRELUDE}
if redis.call('EXISTS', meta_key) == 0 then return {'GONE'} end
if redis.call('EXISTS', outbox_key) == 1 then
  if redis.call('XLEN', outbox_key) > 0 then return {'BUSY'} end
  local info = redis.call('XINFO', 'STREAM', outbox_key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local last_ms = tonumber(string.match(info[i + 1], '^(%d+)'))
      if now_ms() - last_ms < tonumber(ARGV[1]) then return {'BUSY'} end
    end
  end
end
local users = {}
local seats = redis.call('HVALS', seats_key)
for _, value in ipairs(seats) do
  local f = split(value)
  if f[1] ~= 'R' then return {'BUSY'} end
  users[f[2]] = true
end
for user in pairs(users) do redis.call('DEL', user_key(user)) end
redis.call('DEL', meta_key, seats_key, outbox_key)
return {'EVICTED'}
`;

export const SeatScripts = {
  hold: { numberOfKeys: 4, lua: HOLD },
  refresh: { numberOfKeys: 4, lua: REFRESH },
  release: { numberOfKeys: 4, lua: RELEASE },
  beginReserve: { numberOfKeys: 4, lua: BEGIN_RESERVE },
  beginReserveMany: { numberOfKeys: 4, lua: BEGIN_RESERVE_MANY },
  finishReserve: { numberOfKeys: 4, lua: FINISH_RESERVE },
  abortReserve: { numberOfKeys: 4, lua: ABORT_RESERVE },
  expire: { numberOfKeys: 3, lua: EXPIRE },
  snapshot: { numberOfKeys: 2, lua: SNAPSHOT },
  seat: { numberOfKeys: 2, lua: SEAT },
  userSeats: { numberOfKeys: 4, lua: USER_SEATS },
  // Variable: meta, seats, outbox plus one user set per restored reservation's user (passed per call).
  installEvent: { numberOfKeys: undefined, lua: INSTALL_EVENT },
  evictIfIdle: { numberOfKeys: 3, lua: EVICT_IF_IDLE },
} as const;

export type SeatScriptName = keyof typeof SeatScripts;
