/* farmtrace in-browser verifier of an offline bundle (farmtrace-bundle/v1, docs/bundle.md).
 * Mirrors farmtrace.ledger.bundle.verify_bundle: same layers, same failure codes. Trusts no server:
 * SHA-256 and Ed25519 from WebCrypto, with a pure-JS Ed25519 (RFC 8032, BigInt) when the browser
 * lacks it. Not mirrored: each event type's own data rules (the server's EventBody.parse runs them).
 * window.FarmtraceVerify.verifyBundle(doc, {trustedLogKey, lang, ed25519: "auto"|"fallback"})
 *   -> Promise<{ok, failures: [{code, layer, where, batch, seq, event, message}], flagged, events, checkpoint}> */
(() => {
  "use strict";
  const FORMAT = "farmtrace-bundle/v1", MAX_PROOF = 64, MAX_BODY = 65536;
  const TOP = ["format", "subject", "log", "keys", "batches"], LOG = ["key", "checkpoint"];
  const BATCH = ["id", "head", "events"], ENTRY = ["seq", "hash", "canonical", "signature", "proof"];
  const ENVELOPE = ["v", "type", "batch", "org", "key", "prev", "at", "id", "data"];
  // Every event type the server registers (a test keeps this list equal to Python's EVENT_TYPES).
  const TYPES = ("animal_tagged cancel certificate_issued commissioned consume correct create fed fermented harvested immunised " +
    "input_applied inspected key_added key_revoked observe packed plot_registered quarantined recall receive " +
    "sample sell ship source_registered stored temperature_logged test transform treated").split(" ");
  const GENESIS = ["create", "transform", "harvested", "animal_tagged", "source_registered"];
  const KEY_TYPES = ["key_added", "key_revoked"];
  const HEX64 = /^[0-9a-f]{64}$/, KEY_ID = /^[0-9a-f]{16}$/, IDENT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;
  const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const M = { // code: [layer, zh_CN, en] (the same as farmtrace.ledger.bundle.MESSAGES)
    not_json: ["bundle", "数据包不是有效的 JSON：{detail}", "the bundle is not valid JSON: {detail}"],
    bad_format: ["bundle", "不是 {want} 数据包（format 为 {got}）", "not a {want} bundle (format is {got})"],
    bad_field: ["bundle", "字段 {where} 无效：{detail}", "field {where} is invalid: {detail}"],
    subject_missing: ["bundle", "数据包的主批次 {subject} 不在 batches 中", "the bundle's subject batch {subject} is not among its batches"],
    duplicate_entry: ["bundle", "日志位置 {seq} 或哈希重复出现", "log index {seq} or its hash appears twice"],
    log_key_invalid: ["log", "日志公钥无效：{detail}", "the log verifier key is invalid: {detail}"],
    log_key_mismatch: ["log", "数据包中的日志公钥 {bundled} 与您信任的公钥 {trusted} 不同", "the bundle's log key {bundled} is not the key you trust, {trusted}"],
    checkpoint_invalid: ["log", "检查点未通过核验：{detail}", "the checkpoint does not verify: {detail}"],
    checkpoint_origin: ["log", "检查点的来源 {got} 不是日志公钥的名称 {want}", "the checkpoint's origin {got} is not the log key's name {want}"],
    hash_mismatch: ["event", "哈希与规范文本不符（文本的 SHA-256 为 {digest}）", "the hash does not match the canonical text (its SHA-256 is {digest})"],
    invalid_body: ["event", "事件正文无效：{detail}", "the event body is invalid: {detail}"],
    not_canonical: ["event", "文本不是 RFC 8785 规范形式", "the text is not in RFC 8785 canonical form"],
    bad_signature: ["event", "签名无效（密钥 {key}）", "the signature does not verify with key {key}"],
    key_entry_type: ["key", "keys 中的记录类型 {type} 不是密钥记录", "an entry of type {type} is not a key entry"],
    key_entry_signer: ["key", "密钥记录应由日志密钥 {want} 签名，而不是 {got}", "a key entry must be signed by the log key {want}, not {got}"],
    key_id_mismatch: ["key", "密钥编号 {key} 与其公钥不符", "key id {key} does not match its public key"],
    key_added_twice: ["key", "密钥 {key} 被添加了两次", "key {key} is added twice"],
    unknown_key: ["key", "签名密钥 {key} 没有对应的 key_added 记录", "signing key {key} has no key_added entry in the bundle"],
    key_not_of_org: ["key", "密钥 {key} 不是机构 {org} 的密钥", "key {key} is not a key of org {org}"],
    key_not_yet_valid: ["key", "签名时密钥 {key} 尚未生效（在位置 {added} 添加）", "key {key} was not yet valid (it was added at index {added})"],
    key_revoked: ["key", "密钥 {key} 已在位置 {ended} 吊销，之后仍被用于签名", "signed by key {key} after it was revoked at index {ended}"],
    key_rotated_out: ["key", "密钥 {key} 已在位置 {ended} 轮换停用，之后仍被用于签名", "signed by key {key} after it was rotated out at index {ended}"],
    wrong_batch: ["chain", "事件属于批次 {named}，却列在批次 {batch} 下", "the event names batch {named} but is listed under batch {batch}"],
    empty_chain: ["chain", "批次 {batch} 没有事件", "batch {batch} has no events"],
    chain_start: ["chain", "批次链的第一个事件不是批次的起点（它有 prev {prev}）：前面的事件缺失", "the chain's first event does not start the batch (it has prev {prev}): earlier events are missing"],
    chain_fork: ["chain", "批次第二次开始（分叉）", "a second start of the batch (fork)"],
    chain_link: ["chain", "prev {prev} 不是前一个事件的哈希 {want}：事件缺失、顺序被改或分叉", "prev {prev} is not the previous event's hash {want}: an event is missing, reordered or forked"],
    chain_order: ["chain", "日志位置 {seq} 不大于前一个事件的位置 {before}", "log index {seq} is not after the previous event's index {before}"],
    head_mismatch: ["chain", "链头 {head} 不是最后一个事件的哈希 {last}", "the head {head} is not the last event's hash {last}"],
    input_missing: ["chain", "加工输入 {i}（批次 {input}）的消耗事件 {event} 不在本包中，或与之不符", "transformation input {i} (batch {input}): its consume event {event} is not in the bundle or does not match"],
    proof_invalid: ["proof", "包含证明未通过：{detail}", "the inclusion proof does not verify: {detail}"],
    suspected_compromise: ["key", "密钥 {key} 自 {since} 起疑似泄露，此事件在那之后签名，需复核", "signed by key {key} after its suspected compromise ({since}); review"],
  };

  // ---- bytes, hashes, base64 ---------------------------------------------------------------
  const subtle = () => (globalThis.crypto && crypto.subtle) || null;
  const enc = new TextEncoder();
  const utf8 = (s) => enc.encode(s);
  const cat = (...parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let i = 0; for (const p of parts) { out.set(p, i); i += p.length; } return out; };
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const sha = async (name, data) => new Uint8Array(await subtle().digest(name, data));
  const sha256 = (data) => sha("SHA-256", data);
  const b64 = (b) => btoa(String.fromCharCode(...b));
  function unb64(text, length) { // canonical standard base64 (no stray bits), or null
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) return null;
    const b = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return b64(b) === text && (length === undefined || b.length === length) ? b : null;
  }

  // ---- Ed25519: WebCrypto, or RFC 8032 in BigInt -------------------------------------------
  const P = 2n ** 255n - 19n, L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const md = (a, m = P) => { const r = a % m; return r < 0n ? r + m : r; };
  const pw = (b, e) => { let r = 1n; b = md(b); for (; e > 0n; e >>= 1n) { if (e & 1n) r = r * b % P; b = b * b % P; } return r; };
  const inv = (a) => pw(a, P - 2n);
  const D = md(-121665n * inv(121666n)), SQRTM1 = pw(2n, (P - 1n) / 4n);
  const le = (b) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
  const add = ([X1, Y1, Z1, T1], [X2, Y2, Z2, T2]) => { // RFC 8032 §5.1.4, complete
    const A = md((Y1 - X1) * (Y2 - X2)), B = md((Y1 + X1) * (Y2 + X2)), C = md(2n * D * T1 * T2), E0 = md(2n * Z1 * Z2);
    const E = B - A, F = E0 - C, G = E0 + C, H = B + A;
    return [md(E * F), md(G * H), md(F * G), md(E * H)];
  };
  const mul = (Q, k) => { let R = [0n, 1n, 1n, 0n]; for (; k > 0n; k >>= 1n, Q = add(Q, Q)) if (k & 1n) R = add(R, Q); return R; };
  function decode(b) { // RFC 8032 §5.1.3, or null
    const s = b[31] >> 7, y = le(b) & ((1n << 255n) - 1n);
    if (y >= P) return null;
    const u = md(y * y - 1n), v = md(D * y * y + 1n);
    let x = md(u * v ** 3n % P * pw(u * v ** 7n, (P - 5n) / 8n));
    if (md(v * x * x) !== u) { x = x * SQRTM1 % P; if (md(v * x * x) !== u) return null; }
    if (x === 0n && s) return null;
    if (Number(x & 1n) !== s) x = P - x;
    return [x, y, 1n, x * y % P];
  }
  function encode([X, Y, Z]) {
    const zi = inv(Z), x = X * zi % P; let y = Y * zi % P;
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++, y >>= 8n) out[i] = Number(y & 255n);
    out[31] |= Number(x & 1n) << 7;
    return out;
  }
  const BASE = decode(unhex("5866666666666666666666666666666666666666666666666666666666666666"));
  async function ed25519Pure(pub, sig, msg) {
    const A = decode(pub), S = le(sig.subarray(32));
    if (!A || S >= L) return false;
    const k = md(le(await sha("SHA-512", cat(sig.subarray(0, 32), pub, msg))), L);
    const negA = [P - A[0], A[1], A[2], P - A[3]];
    return same(encode(add(mul(BASE, S), mul(negA, k))), sig.subarray(0, 32));
  }
  let native; // undefined: not probed; true/false after
  async function hasNative() {
    if (native === undefined) {
      try { await subtle().importKey("raw", BASE && encode(BASE), { name: "Ed25519" }, false, ["verify"]); native = true; }
      catch (e) { native = false; }
    }
    return native;
  }
  async function ed25519(pub, sig, msg, pure) {
    if (pure || !(await hasNative())) return ed25519Pure(pub, sig, msg);
    try {
      const key = await subtle().importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
      return await subtle().verify({ name: "Ed25519" }, key, sig, msg);
    } catch (e) { return false; }
  }

  // ---- strict JSON (no duplicate keys, no floats) and RFC 8785 text --------------------------
  class BodyError extends Error {}
  function parseStrict(s) {
    let i = 0;
    const err = (m) => { throw new BodyError(m); };
    const ws = () => { while (" \t\n\r".includes(s[i]) && i < s.length) i++; };
    const STR = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y, NUM = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    const str = () => { STR.lastIndex = i; const m = STR.exec(s); if (!m) err(`bad string at ${i}`); i = STR.lastIndex; return JSON.parse(m[0]); };
    function val(depth) {
      if (depth > 200) err("body is nested too deeply");
      ws();
      const c = s[i];
      if (c === "{" || c === "[") {
        const obj = c === "{", out = obj ? Object.create(null) : [];
        i++; ws();
        if (s[i] === (obj ? "}" : "]")) { i++; return out; }
        for (;;) {
          if (obj) {
            ws(); if (s[i] !== '"') err(`expected a key at ${i}`);
            const k = str(); ws();
            if (Object.prototype.hasOwnProperty.call(out, k)) err(`duplicate key '${k}'`);
            if (s[i++] !== ":") err(`expected ':' at ${i - 1}`);
            out[k] = val(depth + 1);
          } else out.push(val(depth + 1));
          ws();
          const d = s[i++];
          if (d === (obj ? "}" : "]")) return out;
          if (d !== ",") err(`expected ',' at ${i - 1}`);
        }
      }
      if (c === '"') return str();
      for (const [w, v] of [["true", true], ["false", false], ["null", null]]) if (s.startsWith(w, i)) { i += w.length; return v; }
      NUM.lastIndex = i;
      const m = NUM.exec(s);
      if (!m) err(`unexpected character at ${i}`);
      if (m[1] || m[2]) err(`${m[0]} is a floating-point number; write decimals as strings`);
      i = NUM.lastIndex;
      const n = Number(m[0]);
      if (!Number.isSafeInteger(n)) err(`cannot canonicalise: integer ${m[0]} is out of range`);
      return n;
    }
    const v = val(0); ws();
    if (i !== s.length) err(`extra data at ${i}`);
    return v;
  }
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  function canon(v) { // RFC 8785 for integers, strings, booleans, null, arrays, objects
    if (typeof v === "string") { if (LONE.test(v)) throw new BodyError("cannot canonicalise: a lone surrogate"); return JSON.stringify(v); }
    if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
    if (isObj(v)) return "{" + Object.keys(v).sort().map((k) => canon(k) + ":" + canon(v[k])).join(",") + "}";
    return String(v);
  }
  function time(v, name) { // an RFC 3339 time with offset as epoch ms, or throws
    const m = typeof v === "string" && RFC3339.exec(v);
    if (!m) throw new BodyError(`${name} must be an RFC 3339 time with an offset`);
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number), off = m[9] ? (m[9] === "-" ? -1 : 1) * (m[10] * 60 + +m[11]) : 0;
    const t = Date.UTC(y, mo - 1, d, h, mi, s), back = new Date(t);
    if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59 || +m[10] > 23 || +m[11] > 59)
      throw new BodyError(`${name} is not a real date and time: ${v}`);
    return t + Number(((m[7] || "") + "000").slice(1, 4)) - off * 60000;
  }
  function parseBody(text) { // EventBody.parse: the envelope, the key entries' data; returns the body
    if (utf8(text).length > MAX_BODY) throw new BodyError(`body is over ${MAX_BODY} bytes`);
    const o = parseStrict(text), need = (ok, m) => { if (!ok) throw new BodyError(m); };
    need(isObj(o), "an event body must be a JSON object");
    for (const k of Object.keys(o)) need(ENVELOPE.includes(k), `unknown field '${k}'`);
    for (const k of ["v", "type", "org", "key", "at", "id", "data"]) need(k in o, `${k} is required`);
    need(o.v === 1, "v must be 1");
    need(TYPES.includes(o.type), `unknown event type ${JSON.stringify(o.type)}`);
    need(typeof o.org === "string" && IDENT.test(o.org), "org must be an identifier");
    need(typeof o.key === "string" && KEY_ID.test(o.key), "key must be a key id");
    need(typeof o.id === "string" && UUID.test(o.id), "id must be a lowercase UUID");
    time(o.at, "at");
    const genesis = GENESIS.includes(o.type);
    if (KEY_TYPES.includes(o.type)) need(!("batch" in o) && !("prev" in o), `a ${o.type} entry names no batch and no prev`);
    else {
      need(typeof o.batch === "string" && IDENT.test(o.batch), "batch must be a batch id");
      need(!(genesis && "prev" in o), `a ${o.type} event starts a batch and has no prev`);
      need(genesis || (typeof o.prev === "string" && HEX64.test(o.prev)), "prev must be an event hash");
    }
    need(isObj(o.data), "data must be an object");
    const d = o.data;
    if (KEY_TYPES.includes(o.type)) need(typeof d.key_id === "string" && KEY_ID.test(d.key_id), "data.key_id must be 16 lowercase hex digits");
    if (o.type === "key_added") {
      need(typeof d.public_key === "string" && d.public_key.trim() && d.public_key.length <= 64, "data.public_key must be non-empty text");
      need(d.algorithm === "ed25519", 'data.algorithm must be "ed25519"');
      need(!("replaces" in d) || (typeof d.replaces === "string" && KEY_ID.test(d.replaces)), "data.replaces must be a key id");
    }
    if (o.type === "key_revoked") {
      need(d.reason === "compromise" || d.reason === "retired", 'data.reason must be "compromise" or "retired"');
      if ("suspected_since" in d) time(d.suspected_since, "data.suspected_since");
    }
    if ("personal" in d) need(isObj(d.personal) && Object.keys(d.personal).join() === "ref" && HEX64.test(String(d.personal.ref)), "data.personal must be {\"ref\": <64 hex>}");
    const c = canon(o);
    need(utf8(c).length <= MAX_BODY, `the event is over ${MAX_BODY} bytes`);
    return { o, canonical: c, genesis };
  }

  // ---- C2SP verifier keys and signed-note checkpoints ---------------------------------------
  const validName = (n) => !!n && !/[+\s\u0000-\u001f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u0085\u2028\u2029\u001c-\u001f]/.test(n);
  async function keyHash(name, pub) { return (await sha256(cat(utf8(name), Uint8Array.of(10, 1), pub))).subarray(0, 4); }
  async function parseVkey(text) {
    const a = text.indexOf("+"), b = a < 0 ? -1 : text.indexOf("+", a + 1);
    if (b < 0) throw new Error("a verifier key has the form name+hash+key");
    const name = text.slice(0, a), h = text.slice(a + 1, b), key = unb64(text.slice(b + 1));
    if (!validName(name) || LONE.test(name)) throw new Error(`key name ${JSON.stringify(name)} must be non-empty, without spaces, '+' or control characters`);
    if (!/^[0-9a-f]{8}$/.test(h)) throw new Error(`verifier key hash '${h}' is not 8 lowercase hex digits`);
    if (!key || key.length !== 33 || key[0] !== 1) throw new Error("verifier key is not base64 of 0x01 and a 32-byte Ed25519 public key");
    const pub = key.subarray(1);
    if (hex(await keyHash(name, pub)) !== h) throw new Error(`verifier key hash ${h} does not match its name and key`);
    return { name, kid: h, pub };
  }
  async function openCheckpoint(note, vk, pure) { // Checkpoint.from_note with one trusted key
    if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Error("note contains a control character");
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("note has no blank line before its signatures");
    const body = note.slice(0, split + 1), block = note.slice(split + 2);
    if (!block.endsWith("\n")) throw new Error("note has no signature lines, or they do not end in a newline");
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > 100) throw new Error(`note has ${lines.length} signatures, more than 100`);
    let signed = false;
    const sigs = lines.map((line) => {
      const sp = line.indexOf(" ", 2), name = line.slice(2, sp), blob = unb64(line.slice(sp + 1));
      if (!line.startsWith("\u2014 ") || sp < 0 || !validName(name) || !blob || blob.length < 5)
        throw new Error(`signature line ${JSON.stringify(line)} is not '— name base64(key ID || signature)'`);
      return [name, blob];
    });
    for (const [name, blob] of sigs) {
      if (name !== vk.name || hex(blob.subarray(0, 4)) !== vk.kid) continue;
      if (!(await ed25519(vk.pub, blob.subarray(4), utf8(body), pure))) throw new Error(`signature by ${name} (${vk.kid}) does not verify`);
      signed = true;
    }
    if (!signed) throw new Error("no signature on the note is from a known key");
    const ls = body.slice(0, -1).split("\n");
    if (ls.length < 3 || !ls.every(Boolean)) throw new Error("a checkpoint is at least three non-empty lines: origin, size, root");
    if (!/^(0|[1-9][0-9]*)$/.test(ls[1]) || BigInt(ls[1]) > 2n ** 64n - 1n) throw new Error(`checkpoint size '${ls[1]}' is not a decimal tree size`);
    const root = unb64(ls[2], 32);
    if (!root) throw new Error(`checkpoint root '${ls[2]}' is not base64 of a 32-byte hash`);
    return { origin: ls[0], size: BigInt(ls[1]), root };
  }

  // ---- RFC 9162 §2.1.3.2 inclusion ------------------------------------------------------------
  async function included(leaf, index, size, proof, root) { // null when it holds, else the reason
    let fn = BigInt(index), sn = size - 1n, r = leaf;
    if (fn >= size) return `leaf index ${index} is not in a tree of size ${size} (needs index < size)`;
    for (const p of proof) {
      if (sn === 0n) return "inclusion proof is longer than the tree is deep";
      if (fn & 1n || fn === sn) {
        r = await sha256(cat(Uint8Array.of(1), p, r));
        while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else r = await sha256(cat(Uint8Array.of(1), r, p));
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) return "inclusion proof is shorter than the tree is deep";
    return same(r, root) ? null : `inclusion proof for leaf ${index} of ${size} leads to root ${b64(r)}, not ${b64(root)}`;
  }

  // ---- the verifier ----------------------------------------------------------------------------
  async function verifyBundle(doc, opts = {}) {
    const lang = opts.lang === "en" ? 2 : 1, pure = opts.ed25519 === "fallback", trusted = opts.trustedLogKey ?? null;
    const failures = [], flagged = [], out = { ok: false, failures, flagged, events: 0, checkpoint: null, logKeyTrusted: trusted !== null };
    const show = (v) => (v === null || v === undefined ? "-" : typeof v === "string" ? (v.length > 300 ? v.slice(0, 300) + "…" : v) : v);
    function fail(code, { where = null, entry = null, batch = null, flag = false, ...params } = {}) {
      const [layer] = M[code];
      where = entry ? entry.where : where;
      batch = batch ?? (entry ? entry.under : null);
      const values = { where, batch, ...params };
      const message = M[code][lang].replace(/\{(\w+)\}/g, (_, k) => String(show(values[k])));
      const f = { code, layer, where, batch, seq: entry ? entry.seq : null, event: entry ? entry.hash : null, message };
      (flag ? flagged : failures).push(f);
      if (!flag && entry && ["bundle", "event", "key"].includes(layer)) entry.sound = false;
    }
    function fields(v, names, where) {
      if (!isObj(v)) { fail("bad_field", { where, detail: "must be an object" }); return null; }
      const missing = names.filter((n) => !(n in v)), unknown = Object.keys(v).filter((n) => !names.includes(n));
      if (missing.length || unknown.length) {
        fail("bad_field", { where, detail: [missing.length ? "missing " + missing.join(", ") : "", unknown.length ? "unknown " + unknown.join(", ") : ""].filter(Boolean).join("; ") });
        return null;
      }
      return v;
    }
    function text(obj, name, where) {
      if (typeof obj[name] !== "string") { fail("bad_field", { where: `${where}.${name}`, detail: "must be a string" }); return null; }
      return obj[name];
    }
    function entries(v, where, under) {
      if (!Array.isArray(v)) { fail("bad_field", { where, detail: "must be a list" }); return []; }
      if (under !== null) out.events += v.length;
      const list = [];
      v.forEach((item, i) => {
        const w = `${where}[${i}]`, obj = fields(item, ENTRY, w);
        const texts = obj ? ["hash", "canonical", "signature"].map((n) => text(obj, n, w)) : [];
        if (!obj || texts.includes(null)) return;
        if (!Number.isInteger(obj.seq) || obj.seq < 0) { fail("bad_field", { where: `${w}.seq`, detail: "must be a log index (an integer from 0)" }); return; }
        if (!Array.isArray(obj.proof) || obj.proof.length > MAX_PROOF || !obj.proof.every((h) => typeof h === "string" && HEX64.test(h))) {
          fail("bad_field", { where: `${w}.proof`, detail: `must be a list of at most ${MAX_PROOF} hashes in lowercase hex` }); return;
        }
        list.push({ where: w, seq: obj.seq, hash: texts[0], canonical: texts[1], signature: texts[2], proof: obj.proof.map(unhex), under, raw: null, body: null, sound: true });
      });
      return list;
    }
    async function content(e) { // layer 4a: hash, canonical text, body
      if (LONE.test(e.canonical)) { fail("invalid_body", { entry: e, detail: "the text is not valid Unicode" }); return; }
      e.raw = e.canonical;
      e.digest = hex(await sha256(utf8(e.raw)));
      if (e.digest !== e.hash) fail("hash_mismatch", { entry: e, digest: e.digest });
      let body;
      try { body = parseBody(e.raw); } catch (err) { fail("invalid_body", { entry: e, detail: err.message }); return; }
      if (body.canonical !== e.raw) fail("not_canonical", { entry: e });
      e.body = body;
    }
    async function signature(e, pub, kid) {
      if (e.raw) {
        const sig = unb64(e.signature, 64);
        if (!sig || !(await ed25519(pub, sig, cat(utf8("farmtrace/event/v1\n"), unhex(e.digest)), pure))) {
          fail("bad_signature", { entry: e, key: kid }); return false;
        }
      }
      return !!e.raw;
    }

    if (!subtle()) throw new Error("WebCrypto (crypto.subtle) is not available: a secure context (https) is needed");
    if (typeof doc === "string") {
      try { doc = JSON.parse(doc); } catch (err) { fail("not_json", { detail: err.message }); return out; }
    }
    const top = fields(doc, TOP, "$");
    if (!top) return out;
    if (top.format !== FORMAT) { fail("bad_format", { where: "format", want: FORMAT, got: JSON.stringify(top.format).slice(0, 80) }); return out; }
    const subject = text(top, "subject", "$");
    // 2. log: the checkpoint note verifies with the log key (the trusted one wins)
    let cp = null, logPub = null, logKid = null;
    const log = fields(top.log, LOG, "log");
    if (log) {
      const bundled = text(log, "key", "log"), note = text(log, "checkpoint", "log"), vkey = trusted ?? bundled;
      out.logKey = vkey;
      if (trusted !== null && bundled !== null && bundled !== trusted) fail("log_key_mismatch", { where: "log.key", bundled, trusted });
      let vk = null;
      if (vkey !== null) {
        try { vk = await parseVkey(vkey); } catch (err) { fail("log_key_invalid", { where: "log.key", detail: err.message }); }
      }
      if (vk) {
        logPub = vk.pub;
        logKid = hex((await sha256(logPub)).subarray(0, 8));
        if (note !== null) {
          try {
            if (LONE.test(note)) throw new Error("the note is not valid Unicode");
            const c = await openCheckpoint(note, vk, pure);
            if (c.origin !== vk.name) fail("checkpoint_origin", { where: "log.checkpoint", got: c.origin, want: vk.name });
            else cp = c;
            out.checkpoint = { origin: c.origin, size: Number(c.size), root: b64(c.root) };
          } catch (err) { fail("checkpoint_invalid", { where: "log.checkpoint", detail: err.message }); }
        }
      }
    }
    // 3. key entries, replayed in log order into each org key's window
    const keyEntries = entries(top.keys, "keys", null), keys = new Map();
    for (const e of [...keyEntries].sort((a, b) => a.seq - b.seq)) {
      await content(e);
      if (!e.body) continue;
      const o = e.body.o, d = o.data;
      if (!KEY_TYPES.includes(o.type)) { fail("key_entry_type", { entry: e, type: o.type }); continue; }
      if (!logPub || o.key !== logKid) { fail("key_entry_signer", { entry: e, want: logKid, got: o.key }); continue; }
      if (!(await signature(e, logPub, o.key)) || !e.sound) continue;
      const kid = String(d.key_id);
      if (o.type === "key_added") {
        const pub = unb64(String(d.public_key), 32);
        if (!pub || hex((await sha256(pub)).subarray(0, 8)) !== kid) { fail("key_id_mismatch", { entry: e, key: kid }); continue; }
        if (keys.has(kid)) { fail("key_added_twice", { entry: e, key: kid }); continue; }
        keys.set(kid, { pub, org: o.org, added: e.seq, ends: [], since: null });
        const replaced = keys.get(String(d.replaces ?? ""));
        if (replaced) replaced.ends.push([e.seq, "rotated"]);
      } else if (keys.has(kid)) {
        const k = keys.get(kid);
        k.ends.push([e.seq, String(d.reason)]);
        if ("suspected_since" in d) k.since = { t: time(d.suspected_since, "since"), text: d.suspected_since };
      }
    }
    // 4. events: content, then the signer's key and its window
    const batches = [];
    if (!Array.isArray(top.batches) || !top.batches.length) fail("bad_field", { where: "batches", detail: "must be a non-empty list" });
    else top.batches.forEach((item, i) => {
      const where = `batches[${i}]`, obj = fields(item, BATCH, where), id = obj ? text(obj, "id", where) : null;
      if (id === null) return;
      if (batches.some((b) => b.id === id)) fail("bad_field", { where: `${where}.id`, batch: id, detail: `batch ${id} is listed twice` });
      batches.push({ id, head: text(obj, "head", where), entries: entries(obj.events, `${where}.events`, id) });
    });
    const events = batches.flatMap((b) => b.entries);
    for (const e of events) {
      await content(e);
      if (!e.body) continue;
      const o = e.body.o, key = keys.get(o.key);
      if (logKid !== null && o.key === logKid) { fail("key_not_of_org", { entry: e, key: o.key, org: o.org }); continue; }
      if (!key) { fail("unknown_key", { entry: e, key: o.key }); continue; }
      if (key.org !== o.org) fail("key_not_of_org", { entry: e, key: o.key, org: o.org });
      if (!(await signature(e, key.pub, o.key))) continue;
      const ended = key.ends.filter(([s]) => s <= e.seq), hard = ended.filter(([, r]) => r !== "rotated");
      if (e.seq <= key.added) fail("key_not_yet_valid", { entry: e, key: o.key, added: key.added });
      else if (hard.length) fail("key_revoked", { entry: e, key: o.key, ended: Math.min(...hard.map(([s]) => s)) });
      else if (ended.length) fail("key_rotated_out", { entry: e, key: o.key, ended: Math.min(...ended.map(([s]) => s)) });
      else if (key.since && time(o.at, "at") >= key.since.t) fail("suspected_compromise", { entry: e, flag: true, key: o.key, since: key.since.text });
    }
    // 5. chains: from the batch's start to its head, each prev the hash of the event before
    for (const { id, head, entries: list } of batches) {
      if (!list.length) { fail("empty_chain", { batch: id }); continue; }
      let before = null;
      for (const e of list) {
        if (e.body) {
          const o = e.body.o;
          if (o.batch !== id) fail("wrong_batch", { entry: e, named: o.batch });
          if (!before && !e.body.genesis) fail("chain_start", { entry: e, prev: o.prev });
          else if (before && e.body.genesis) fail("chain_fork", { entry: e });
          else if (before) {
            const want = before.raw ? before.digest : before.hash;
            if (o.prev !== want) fail("chain_link", { entry: e, prev: o.prev, want });
          }
        }
        if (before && e.seq <= before.seq) fail("chain_order", { entry: e, seq: e.seq, before: before.seq });
        before = e;
      }
      const last = list[list.length - 1], lastHash = last.raw ? last.digest : last.hash;
      if (head !== null && head !== lastHash) fail("head_mismatch", { where: last.where.split(".events")[0] + ".head", batch: id, head, last: lastHash });
    }
    // lineage: each transformation's inputs are consume events of the bundle naming its output
    const consumes = new Map(events.filter((e) => e.body && e.body.o.type === "consume").map((e) => [e.hash, e.body.o]));
    for (const e of events) {
      if (!e.body || e.body.o.type !== "transform") continue;
      (Array.isArray(e.body.o.data.inputs) ? e.body.o.data.inputs : []).forEach((item, i) => {
        item = isObj(item) ? item : {};
        const c = consumes.get(String(item.event));
        if (!c || c.batch !== item.batch || !(Array.isArray(c.data.into) && c.data.into.includes(e.body.o.batch)) || c.data.quantity !== item.quantity)
          fail("input_missing", { entry: e, i, input: String(item.batch), event: String(item.event) });
      });
    }
    if (subject !== null && batches.length && !batches.some((b) => b.id === subject)) fail("subject_missing", { where: "subject", subject });
    const every = [...keyEntries, ...events], seqs = new Set(), hashes = new Set();
    for (const e of every) {
      if (seqs.has(e.seq) || hashes.has(e.hash)) fail("duplicate_entry", { entry: e, seq: e.seq });
      seqs.add(e.seq); hashes.add(e.hash);
    }
    // 6. proofs: each entry's inclusion proof leads to the checkpoint's root
    if (cp) for (const e of every) {
      const why = await included(await sha256(cat(Uint8Array.of(0), utf8(e.canonical))), e.seq, cp.size, e.proof, cp.root);
      if (why) fail("proof_invalid", { entry: e, detail: why });
    }
    out.ok = !failures.length;
    return out;
  }

  const supported = () => !!(subtle() && typeof BigInt === "function" && globalThis.TextEncoder);
  globalThis.FarmtraceVerify = { verifyBundle, supported, hasNativeEd25519: hasNative, ed25519Verify: ed25519, parseBody, canonical: canon, TYPES, GENESIS, MESSAGES: M };
})();
