-- bench.lua: one wrk script for every bench row; BENCH_MODE picks the
-- request, and each request picks its own target at random (slug, tag,
-- token, payee), so no row measures one hot cache line.
--
-- Environment: BENCH_MODE, BENCH_DATA (the folder with slugs.txt,
-- tokens.txt, users.txt written by bench.py), BENCH_PATH (for the "get"
-- mode: a fixed path), BENCH_OUT (where done() writes its JSON line).

local mode = os.getenv("BENCH_MODE") or "get"
local data = os.getenv("BENCH_DATA") or "var/bench/data"
local fixed = os.getenv("BENCH_PATH") or "/"
local out = os.getenv("BENCH_OUT")

local function lines(name)
	local t = {}
	local f = io.open(data .. "/" .. name, "r")
	if f == nil then
		return t
	end
	for l in f:lines() do
		if l ~= "" then
			t[#t + 1] = l
		end
	end
	f:close()
	return t
end

local slugs, tokens, users, tags
local counter = 0
local prefix = ""
local threads = {}

function setup(thread)
	thread:set("tid", #threads + 1)
	threads[#threads + 1] = thread
end

function init(args)
	slugs = lines("slugs.txt")
	tokens = lines("tokens.txt")
	users = lines("users.txt")
	tags = {}
	for i = 0, 199 do
		tags[#tags + 1] = string.format("bt-%03d", i)
	end
	-- A prefix unique to this thread of this run, for Idempotency-Keys,
	-- titles and comment bodies.
	math.randomseed(os.time() * 1000 + (tid or 0))
	prefix = string.format("%x-%d-%d", os.time(), tid or 0,
	    math.random(1, 1e9))
end

local function pick(t)
	return t[math.random(#t)]
end

local function auth(h)
	-- "users.txt" and "tokens.txt" have one line per logged-in user, in
	-- the same order; a token line is "username<TAB>token".
	local l = pick(tokens)
	local name, tok = l:match("^([^\t]+)\t(.+)$")
	h["Authorization"] = "Token " .. tok
	return name
end

function request()
	local h = {}
	counter = counter + 1
	if mode == "get" then
		return wrk.format("GET", fixed, h)
	elseif mode == "list" then
		return wrk.format("GET", "/api/articles?limit=20&offset=" ..
		    (math.random(0, 49) * 20), h)
	elseif mode == "list_auth" then
		auth(h)
		return wrk.format("GET", "/api/articles?limit=20&offset=" ..
		    (math.random(0, 49) * 20), h)
	elseif mode == "tag" then
		return wrk.format("GET", "/api/articles?limit=20&tag=" ..
		    pick(tags), h)
	elseif mode == "tag_auth" then
		auth(h)
		return wrk.format("GET", "/api/articles?limit=20&tag=" ..
		    pick(tags), h)
	elseif mode == "list_edge" then
		-- The "list" row through nginx's micro-cache (nginx.conf.in).
		return wrk.format("GET", "/edge/api/articles?limit=20&offset=" ..
		    (math.random(0, 49) * 20), h)
	elseif mode == "slug" then
		return wrk.format("GET", "/api/articles/" .. pick(slugs), h)
	elseif mode == "slug_auth" then
		auth(h)
		return wrk.format("GET", "/api/articles/" .. pick(slugs), h)
	elseif mode == "flask_slug" then
		return wrk.format("GET", "/flask/api/articles/" .. pick(slugs), h)
	elseif mode == "feed" then
		auth(h)
		return wrk.format("GET", "/api/articles/feed?limit=20", h)
	elseif mode == "create" then
		auth(h)
		h["Content-Type"] = "application/json"
		local t = "wrk " .. prefix .. " " .. counter
		return wrk.format("POST", "/api/articles", h, string.format(
		    '{"article":{"title":"%s","description":"bench write",' ..
		    '"body":"Written by the bench.","tagList":["%s","%s"]}}',
		    t, pick(tags), pick(tags)))
	elseif mode == "comment" then
		auth(h)
		h["Content-Type"] = "application/json"
		return wrk.format("POST", "/api/articles/" .. pick(slugs) ..
		    "/comments", h, string.format(
		    '{"comment":{"body":"wrk %s %d"}}', prefix, counter))
	elseif mode == "login" then
		h["Content-Type"] = "application/json"
		local u = pick(users)
		return wrk.format("POST", "/api/users/login", h, string.format(
		    '{"user":{"email":"%s@bench.invalid","password":"%s"}}',
		    u, os.getenv("BENCH_PASSWORD") or "benchpass123"))
	elseif mode == "pay" then
		local me = auth(h)
		local to = pick(users)
		while to == me do
			to = pick(users)
		end
		h["Content-Type"] = "application/json"
		h["Idempotency-Key"] = prefix .. "-" .. counter
		return wrk.format("POST", "/pay/v1/payments", h, string.format(
		    '{"to":"%s","amount":1,"currency":"USD",' ..
		    '"description":"bench"}', to))
	elseif mode == "accounts" then
		auth(h)
		return wrk.format("GET", "/pay/v1/accounts", h)
	end
	error("bench.lua: unknown BENCH_MODE " .. mode)
end

-- One JSON line with everything the table needs. Latencies in µs.
function done(summary, latency, requests)
	local e = summary.errors
	local s = string.format('{"requests":%d,"duration_us":%d,"bytes":%d,' ..
	    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
	    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}',
	    summary.requests, summary.duration, summary.bytes, e.status,
	    e.connect, e.read, e.write, e.timeout, latency:percentile(50),
	    latency:percentile(90), latency:percentile(99), latency.max,
	    latency.mean)
	if out ~= nil then
		local f = io.open(out, "w")
		f:write(s .. "\n")
		f:close()
	else
		io.write(s .. "\n")
	end
end
