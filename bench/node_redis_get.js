// bench/node_redis_get.js: ioredis's side of the redis workload's GET
// measure (bench/redis_phase.py); bench/redis_get.lua is luanetd's.
//
//   node bench/node_redis_get.js --port P [--secs S] [--depth D] [--size B]
//                                [--warmup W] [--mode both|single|pipeline]
//
// One ioredis connection to redis-server on 127.0.0.1:P; SET "bench:key"
// to a B-byte value (64), then, each for W seconds (0.5) untimed and then
// for S seconds (2): single: `await
// redis.get(key)` one at a time; pipeline: redis.pipeline() of D (16)
// get's, then exec(), per round trip. Every reply is checked. Prints one
// key=value line per mode, as redis_get.lua does.
'use strict';
const Redis = require('ioredis');

const opts = { port: 6379, secs: 2, warmup: 0.5, depth: 16, size: 64, mode: 'both' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!(k in opts) || argv[i + 1] === undefined) {
    console.error('usage: node_redis_get.js --port P [--secs S] [--depth D] [--size B] [--warmup W] [--mode both|single|pipeline]');
    process.exit(2);
  }
  opts[k] = typeof opts[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}

const KEY = 'bench:key';
const value = 'v'.repeat(opts.size);
const now = () => Number(process.hrtime.bigint()) / 1e9;

function fail(what) {
  console.error('node_redis_get.js: ' + what);
  process.exit(1);
}

async function single(redis, secs) {
  let n = 0;
  const t0 = now(), stop = t0 + secs;
  do {
    for (let i = 0; i < 100; i++) {
      const v = await redis.get(KEY);
      if (v !== value) fail('GET: ' + v);
    }
    n += 100;
  } while (now() < stop);
  return [n, now() - t0];
}

async function pipelined(redis, secs) {
  let n = 0;
  const t0 = now(), stop = t0 + secs;
  do {
    for (let k = 0; k < 10; k++) {
      const p = redis.pipeline();
      for (let i = 0; i < opts.depth; i++) p.get(KEY);
      const replies = await p.exec();
      for (const [err, v] of replies) if (err || v !== value) fail('pipeline: ' + (err || v));
    }
    n += 10 * opts.depth;
  } while (now() < stop);
  return [n, now() - t0];
}

function report(mode, [n, secs]) {
  process.stdout.write(`client=ioredis mode=${mode} depth=${mode === 'single' ? 1 : opts.depth} ` +
                       `ops=${n} secs=${secs.toFixed(3)} ops_per_s=${(n / secs).toFixed(0)}\n`);
}

(async () => {
  const redis = new Redis({ host: '127.0.0.1', port: opts.port, lazyConnect: true,
                            enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  await redis.connect();
  if (await redis.set(KEY, value) !== 'OK') fail('SET');
  if (opts.mode === 'both' || opts.mode === 'single') {
    await single(redis, opts.warmup);
    report('single', await single(redis, opts.secs));
  }
  if (opts.mode === 'both' || opts.mode === 'pipeline') {
    await pipelined(redis, opts.warmup);
    report('pipeline', await pipelined(redis, opts.secs));
  }
  redis.disconnect();
})().catch((e) => fail(e.stack || String(e)));
