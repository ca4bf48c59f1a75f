-- One atomic step of the lease protocol (docs/limits.md): reports, grants and takes of one
-- Envoy instance for a batch of limits. Every key is in one hash slot (the prefix's hash tag).
--
-- KEYS[i]  the hash of limit i
-- ARGV     1 instance id, 2 reservation ttl ms, 3 retention ms of an idle instance's record,
--          4 grant divisor F, 5 recheck ms, 6 exhausted recheck ms, then 9 per limit:
--          quota(0/1) limit period stamp seq spent allow want take(0/1)
-- Returns  now_ms, ok(0/1), then 7 per limit: stamp allow remaining end expires until over(0/1)
--
-- A quota hash holds p (period stamp) and u (used in the period); a rate hash holds b (bucket
-- level, micro-tokens) and t (its time, microseconds). Both hold one field per instance,
-- "i:<id>" = "c a e s q": c its reported cumulative spend, a its cumulative allowance (a - c is
-- its reservation), e the reservation's expiry (ms), s when it last reported (ms), q the last
-- report's sequence number. All numbers stay below 2^53: exact in Lua. calendar.lua is
-- prepended to this file.

local tm = redis.call('TIME')
local now_us = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
local now = math.floor(now_us / 1000)
local me_field = 'i:' .. ARGV[1]
local ttl = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
local frac = tonumber(ARGV[4])
local recheck = tonumber(ARGV[5])
local exhausted = tonumber(ARGV[6])
local UNIT = 1000000          -- micro-tokens per token
local MAXRATE = 1000000000    -- refill arithmetic stays exact below this rate
local max, min = math.max, math.min -- floor: calendar.lua

local function fmt(x) return string.format('%.0f', x) end

-- The stamp of the period holding now (as package limit computes it) and when it ends.
local function period(p)
  local day = floor(now / 86400000)
  if p == 1 then
    return 1073741824 + day % 1073741824, (day + 1) * 86400000
  elseif p == 2 then
    local y, m = civil(day)
    local ny, nm = y, m + 1
    if nm > 12 then ny, nm = y + 1, 1 end
    return 2147483648 + (y * 12 + m - 1) % 1073741824, first_of_month(ny, nm) * 86400000
  end
  return 0, 0
end

local ops = {}
local all_ok = true

for i = 1, #KEYS do
  local a0 = 6 + (i - 1) * 9
  local op = {
    key = KEYS[i], quota = ARGV[a0 + 1] == '1', lim = tonumber(ARGV[a0 + 2]),
    per = tonumber(ARGV[a0 + 3]), stamp = tonumber(ARGV[a0 + 4]), seq = tonumber(ARGV[a0 + 5]),
    spent = tonumber(ARGV[a0 + 6]), allow = tonumber(ARGV[a0 + 7]), want = tonumber(ARGV[a0 + 8]),
    take = ARGV[a0 + 9] == '1', P = 0, pend = 0,
  }
  ops[i] = op

  local st, recs, dels = {}, {}, {}
  local h = redis.call('HGETALL', op.key)
  for j = 1, #h, 2 do
    local f = h[j]
    if string.sub(f, 1, 2) == 'i:' then
      local c, a, e, s, q = string.match(h[j + 1], '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
      if c then
        recs[f] = {c = tonumber(c), a = tonumber(a), e = tonumber(e), s = tonumber(s), q = tonumber(q)}
      else
        dels[#dels + 1] = f
      end
    else
      st[f] = tonumber(h[j + 1])
    end
  end

  -- A quota's counts belong to one period; a new period starts from nothing.
  if op.quota then
    op.P, op.pend = period(op.per)
    if st.p ~= op.P then
      redis.call('DEL', op.key)
      local mine = recs[me_field]
      recs, dels = {}, {}
      if mine then recs[me_field] = {c = 0, a = 0, e = 0, s = mine.s, q = mine.q} end
      st = {p = op.P, u = 0}
    end
    st.u = st.u or 0
  end

  -- Reservations that were not renewed in time are gone; records idle for long are dropped.
  local others = 0
  for f, r in pairs(recs) do
    if f ~= me_field and r.s + keep < now then
      dels[#dels + 1] = f
      recs[f] = nil
    else
      if r.e <= now then r.a = r.c end
      if f ~= me_field then others = others + max(r.a - r.c, 0) end
    end
  end

  local reported = op.seq > 0
  local me = recs[me_field]
  if reported and not me then
    me = {c = 0, a = 0, e = 0, s = now, q = 0}
    recs[me_field] = me
  end
  local mine_before = me and max(me.a - me.c, 0) or 0

  -- A rate's bucket refills at R per second while bucket and reservations together hold less
  -- than R: one token bucket whose tokens are partly lent out. Refill first, with the
  -- reservations as they were: spends reported now make room only from now on.
  local R = 0
  if not op.quota then
    R = min(op.lim, MAXRATE)
    local room = R * UNIT - (others + mine_before) * UNIT
    local last = st.t or now_us
    if st.b == nil then
      st.b = room
    elseif now_us > last then
      st.b = st.b + R * (now_us - last)
    end
    st.b = max(min(st.b, room), 0)
    st.t = max(last, now_us)
  end

  -- The report: absolute counts, applied once, in order. A report sent again or overtaken by
  -- a later one changes nothing, and gets nothing: its answer only says the state.
  local applied = reported and op.seq > me.q
  if applied then
    me.q = op.seq
    if not op.quota or op.stamp == op.P then
      local d = op.spent - me.c
      me.c = op.spent
      local after = max(min(me.a, op.allow) - me.c, 0)
      me.a = me.c + after
      if op.quota then
        st.u = max(st.u + d, 0)
      else
        -- what the instance gave back, beyond what it spent, returns to the bucket
        st.b = st.b + max(max(mine_before - d, 0) - after, 0) * UNIT
      end
    end
    me.e = now + ttl
    me.s = now
  end
  local mine = me and max(me.a - me.c, 0) or 0
  if not op.quota then
    st.b = max(min(st.b, (R - others - mine) * UNIT), 0)
  end

  -- The grant. A quota lends at most 1/F of what is free, so leases shrink as the count
  -- nears its end; below F nothing is lent and every request takes from the store itself,
  -- which keeps the count exact. A rate lends what its bucket holds: the bucket refills, and
  -- under a flood the Envoys get their tokens in leases rather than request by request.
  if applied and op.want > mine then
    local g
    if op.quota then
      g = min(op.want - mine, floor((op.lim - st.u - others - mine) / frac))
    else
      g = min(op.want - mine, floor(st.b / UNIT))
    end
    if g >= 1 then
      me.a = me.a + g
      mine = mine + g
      if not op.quota then st.b = st.b - g * UNIT end
    end
  end

  if op.take then
    if op.quota then
      op.ok = op.lim - st.u - others - mine >= 1
    else
      op.ok = st.b >= UNIT
    end
    all_ok = all_ok and op.ok
  end
  op.st, op.recs, op.dels, op.me, op.others, op.mine, op.R = st, recs, dels, me, others, mine, R
end

local out = {now, all_ok and 1 or 0}
for i = 1, #ops do
  local op = ops[i]
  local st, me = op.st, op.me
  if op.take and all_ok then
    if op.quota then st.u = st.u + 1 else st.b = st.b - UNIT end
  end

  local rem, untl = 0, 0
  if op.quota then
    rem = max(op.lim - st.u, 0)
    if op.lim - st.u - op.others - op.mine < 1 then
      if op.others > 0 then
        untl = now + recheck  -- others hold leases: they may give some back
      else
        untl = now + exhausted
        if op.pend > 0 then untl = min(untl, op.pend) end
      end
    end
  else
    rem = min(floor(st.b / UNIT) + op.others + op.mine, op.lim)
    if st.b < UNIT then
      if op.R > 0 then
        untl = now + math.ceil((UNIT - st.b) / op.R / 1000)
      else
        untl = now + recheck
      end
    end
  end

  if op.quota then
    redis.call('HSET', op.key, 'p', fmt(st.p), 'u', fmt(st.u))
  else
    redis.call('HSET', op.key, 'b', fmt(st.b), 't', fmt(st.t))
  end
  if me then
    redis.call('HSET', op.key, me_field,
      fmt(me.c) .. ' ' .. fmt(me.a) .. ' ' .. fmt(me.e) .. ' ' .. fmt(me.s) .. ' ' .. fmt(me.q))
  end
  if #op.dels > 0 then redis.call('HDEL', op.key, unpack(op.dels)) end
  if op.quota then
    if op.pend > 0 then redis.call('PEXPIREAT', op.key, op.pend + keep) end
  else
    -- A rate whose reservations all expired refills to full within a second: then its hash
    -- says nothing that a missing one does not.
    local last = now
    for _, r in pairs(op.recs) do last = max(last, r.e) end
    redis.call('PEXPIREAT', op.key, last + 2000)
  end

  out[#out + 1] = op.P
  out[#out + 1] = me and me.a or 0
  out[#out + 1] = rem
  out[#out + 1] = op.pend
  out[#out + 1] = me and me.e or 0
  out[#out + 1] = untl
  out[#out + 1] = (op.take and not op.ok) and 1 or 0
end
return out
