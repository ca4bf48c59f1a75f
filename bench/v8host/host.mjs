// A proxy-wasm host in Node.js, for V8 without Envoy: it runs the benchmark's request of (b)
// and (c) through several builds of the module, interleaved, and prints the CPU time per
// request (the module's and this host's, which is the same for every build). `go run ./bench
// v8host` writes the inputs and runs it (bench/v8host.go); a module name may end in @GOGC=N.
// usage: node host.mjs DIR N ROUNDS CONFIGS MODULE...   (DIR holds cfg-b.json, cfg-c.json, headers.json)
import fs from 'node:fs';
import { WASI } from 'node:wasi';

const [DIR, N, ROUNDS, which, ...mods] = process.argv.slice(2);
const hdrFile = `${DIR}/headers.json`;
const reqHeaders = JSON.parse(fs.readFileSync(hdrFile, 'utf8'));
const enc = new TextEncoder(), dec = new TextDecoder('latin1');
const latinCache = new Map();
const latin1 = (s) => { let b = latinCache.get(s); if (!b) { b = enc.encode(s); if (latinCache.size < 1000) latinCache.set(s, b); } return b; };

function makeHost(name, config) { const bytes = fs.readFileSync(name.replace(/@.*$/, ''));
  let inst, mem;
  const u8 = () => new Uint8Array(inst.exports.memory.buffer);
  const dv = () => new DataView(inst.exports.memory.buffer);
  let buf = null, view = null;
  const mem8 = () => { if (buf !== inst.exports.memory.buffer) { buf = inst.exports.memory.buffer; view = new Uint8Array(buf); } return view; };
  const str = (p, n) => { const m = mem8(); let s = ''; for (let i = 0; i < n; i++) s += String.fromCharCode(m[p + i]); return s; };
  const shared = new Map(); let casSeq = 1;
  const metrics = []; const logs = [];
  let cur = null; // current stream {req: [[k,v]], resp: [[k,v]]}
  let reply = null;
  const ret = (data, pp, ps) => {
    const b = typeof data === 'string' ? latin1(data) : data;
    const p = inst.exports.proxy_on_memory_allocate(b.length);
    mem8().set(b, p);
    const d = dv(); d.setUint32(pp, p, true); d.setUint32(ps, b.length, true);
    return 0;
  };
  const pairs = (hs) => {
    let size = 4 + hs.length * 8; for (const [k, v] of hs) size += k.length + v.length + 2;
    const b = new Uint8Array(size); const d = new DataView(b.buffer);
    d.setUint32(0, hs.length, true);
    let o = 4; for (const [k, v] of hs) { d.setUint32(o, k.length, true); d.setUint32(o + 4, v.length, true); o += 8; }
    for (const [k, v] of hs) { b.set(enc.encode(k), o); o += k.length + 1; b.set(enc.encode(v), o); o += v.length + 1; }
    return b;
  };
  const map = (t) => t === 2 ? cur.resp : cur.req;
  const env = {
    proxy_log: (l, p, n) => { if (l >= 3) logs.push(str(p, n)); return 0; },
    proxy_send_local_response: (code) => { reply = code; return 0; },
    proxy_get_shared_data: (kp, kn, pp, ps, pc) => {
      const v = shared.get(str(kp, kn)); if (!v) return 1;
      ret(v.data, pp, ps); dv().setUint32(pc, v.cas, true); return 0;
    },
    proxy_set_shared_data: (kp, kn, vp, vn, cas) => {
      const k = str(kp, kn); const v = shared.get(k);
      if (cas !== 0 && v && v.cas !== cas) return 8;
      shared.set(k, { data: u8().slice(vp, vp + vn), cas: casSeq++ }); return 0;
    },
    proxy_get_header_map_value: (t, kp, kn, pp, ps) => {
      const k = str(kp, kn); for (const [a, b] of map(t)) if (a === k) return ret(b, pp, ps); return 1;
    },
    proxy_replace_header_map_value: (t, kp, kn, vp, vn) => {
      const k = str(kp, kn), v = str(vp, vn); const m = map(t); if (t === 0) cur.reqPairs = null;
      for (const kv of m) if (kv[0] === k) { kv[1] = v; return 0; }
      m.push([k, v]); return 0;
    },
    proxy_remove_header_map_value: (t, kp, kn) => { const k = str(kp, kn); const m = map(t); for (let i = m.length - 1; i >= 0; i--) if (m[i][0] === k) m.splice(i, 1); return 0; },
    proxy_get_header_map_pairs: (t, pp, ps) => ret(t === 0 && cur.reqPairs ? cur.reqPairs : pairs(map(t)), pp, ps),
    proxy_get_buffer_bytes: (t, s, n, pp, ps) => { if (t === 7) return ret(config.slice(s, s + n), pp, ps); return 1; },
    proxy_set_buffer_bytes: () => 0,
    proxy_set_tick_period_milliseconds: () => 0,
    proxy_set_effective_context: () => 0,
    proxy_define_metric: (t, p, n, pid) => { metrics.push(str(p, n)); dv().setUint32(pid, metrics.length, true); return 0; },
    proxy_increment_metric: () => 0,
    proxy_get_property: (p, n, pp, ps) => { const k = str(p, n); if (k === 'source\0address') return ret('127.0.0.1:40000', pp, ps); return 1; },
    proxy_get_current_time_nanoseconds: (p) => { dv().setBigInt64(p, BigInt(Date.now()) * 1000000n, true); return 0; },
    proxy_continue_stream: () => 0, proxy_http_call: () => 12, proxy_record_metric: () => 0,
  };
  const wenv = {}; const m2 = name.match(/@GOGC=(\w+)$/); if (m2) wenv.GOGC = m2[1];
  const wasi = new WASI({ version: 'preview1', env: wenv });
  const mod = new WebAssembly.Module(bytes);
  const imports = { wasi_snapshot_preview1: wasi.wasiImport, env: {} };
  for (const imp of WebAssembly.Module.imports(mod)) if (imp.module === 'env') imports.env[imp.name] = env[imp.name] || (() => { throw new Error('missing ' + imp.name); });
  inst = new WebAssembly.Instance(mod, imports);
  wasi.initialize(inst);
  const x = inst.exports;
  const root = 1; let next = 2;
  const reqPairsBytes = pairs(reqHeaders);
  x.proxy_on_context_create(root, 0);
  if (x.proxy_on_vm_start(root, 0) !== 1) throw new Error('vm start');
  if (x.proxy_on_configure(root, config.length) !== 1) throw new Error('configure: ' + logs.join('\n'));
  const request = () => {
    const id = next++;
    cur = { reqPairs: reqPairsBytes, req: reqHeaders.map(kv => [kv[0], kv[1]]), resp: [[':status', '200'], ['content-type', 'text/plain'], ['content-length', '3']] };
    x.proxy_on_context_create(id, root);
    if (x.proxy_on_request_headers(id, cur.req.length, 1) !== 0 || reply !== null) throw new Error('answered ' + reply + logs.join('\n'));
    x.proxy_on_response_headers(id, cur.resp.length, 0);
    x.proxy_on_log(id);
    x.proxy_on_delete(id);
  };
  request();
  const path = cur.req.find(kv => kv[0] === ':path');
  if (!/null|floor/.test(name) && (!path || !path[1].startsWith('/internal/users/42'))) throw new Error('not rewritten: ' + JSON.stringify(cur.req));
  return { request, cur: () => cur };
}

for (const name of which.split(',')) {
  const cfgFile = `${DIR}/cfg-${name}.json`;
  const config = fs.readFileSync(cfgFile);
  const hosts = mods.map(m => makeHost(m, config));
  for (const h of hosts) for (let i = 0; i < 20000; i++) h.request();
  const res = hosts.map(() => []);
  for (let r = 0; r < +ROUNDS; r++) {
    hosts.forEach((h, i) => {
      const c0 = process.cpuUsage();
      for (let k = 0; k < +N; k++) h.request();
      const c = process.cpuUsage(c0);
      res[i].push((c.user + c.system) / +N);
    });
  }
  mods.forEach((m, i) => {
    const s = res[i].slice().sort((a, b) => a - b);
    console.log(`(${name}) ${m.padEnd(28)} median ${s[s.length >> 1].toFixed(2)} µs CPU/req  (min ${s[0].toFixed(2)}, max ${s[s.length - 1].toFixed(2)})`);
  });
}
