-- bench/shared_dict_ngx.lua: nginx's side of the shared phase's dict
-- measure (bench/shared_phase.py), as content_by_lua_file in nginx with
-- libnginx-mod-http-lua and `lua_shared_dict bench 16m;`; the loops are
-- bench/shared_dict_bench.lua's, on ngx.shared.bench and a LuaJIT table.
-- GET /?keys=N&rounds=R&reps=K answers what shared_dict_loop.lua prints.
local args = ngx.req.get_uri_args()
local N = tonumber(args.keys) or 1000
local R = tonumber(args.rounds) or 200
local REPS = tonumber(args.reps) or 7

local bench = dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "shared_dict_bench.lua")
local keys = {}
for i = 1, N do keys[i] = "key:" .. i end

local function wall_ms()
  ngx.update_time()
  return ngx.now() * 1000
end

local runtime = (jit and jit.version or _VERSION):gsub(" ", "_")
ngx.print(bench.measure(ngx.shared.bench, keys, R, REPS, wall_ms, runtime))
