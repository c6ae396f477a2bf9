/* The producer app on a tablet (issue "The producer app"): signed here, kept here without signal.
 *
 * - The tablet's own Ed25519 key is made once with WebCrypto, non-extractable, and kept in IndexedDB;
 *   the server only ever sees its public half. Once an admin of the org registers it
 *   (/producer/device), every form marked data-record is built, signed and sent from here:
 *   body = the event envelope (DESIGN.md), its RFC 8785 text from verify.js's `canonical`, hash =
 *   SHA-256 of that text, signature = Ed25519 over "farmtrace/event/v1\n" + the 32 hash bytes.
 * - Without a registered key, or without Ed25519, forms post as before and the server signs with the
 *   org's key; the bar at the top says which.
 * - Without signal, what is recorded goes to a queue in IndexedDB (signed, or as a draft the server
 *   signs for the org) and is sent when the connection returns, oldest first, through /producer/sync.
 *   Each event keeps the `id` it was given here, so a resend after a lost answer is answered 200
 *   and never recorded twice. An entry whose lot moved on meanwhile (someone else recorded first)
 *   waits as a conflict: re-sign it after theirs, or delete it.
 */
(() => {
  "use strict";
  const bar = document.getElementById("device-bar");
  if (!bar || !window.indexedDB) return;
  const W = JSON.parse(document.getElementById("device-words").textContent);
  const say = (k, p = {}) => W[k].replace(/\{(\w+)\}/g, (_, n) => String(p[n] ?? ""));
  const enc = new TextEncoder();
  const CONTEXT = enc.encode("farmtrace/event/v1\n");
  const PAGES = "farmtrace-pages-v1"; // the service worker's cache of visited pages (static/sw.js)
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const b64 = (b) => btoa(String.fromCharCode(...b));
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const $ = (id) => document.getElementById(id);

  // ---- IndexedDB: "key" (the device key, the org's last known device keys), "queue" (entries by id)
  let opened = null;
  function db() {
    opened ??= new Promise((ok, no) => {
      const r = indexedDB.open("farmtrace", 1);
      r.onupgradeneeded = () => { r.result.createObjectStore("key"); r.result.createObjectStore("queue", { keyPath: "id" }); };
      r.onsuccess = () => ok(r.result);
      r.onerror = () => no(r.error);
    });
    return opened;
  }
  async function run(name, mode, act) {
    const t = (await db()).transaction(name, mode);
    const req = act(t.objectStore(name));
    return new Promise((ok, no) => { t.oncomplete = () => ok(req.result); t.onerror = t.onabort = () => no(t.error); });
  }
  const get = (name, key) => run(name, "readonly", (s) => s.get(key));
  const put = (name, value, key) => run(name, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
  const drop = (name, key) => run(name, "readwrite", (s) => s.delete(key));
  const queued = async () => (await run("queue", "readonly", (s) => s.getAll()))
    .filter((e) => e.org === bar.dataset.org).sort((a, b) => a.made - b.made); // another org's entries wait for its login

  // ---- the device key and whether the org registered it
  async function deviceKey() {
    const known = await get("key", "device");
    if (known) return known;
    try {
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      const made = { privateKey: pair.privateKey, kid: hex((await sha256(raw)).subarray(0, 8)), pub: b64(raw) };
      await put("key", made, "device");
      return made;
    } catch (e) {
      return null; // no Ed25519 in this browser: the org's key on the server signs
    }
  }
  async function registration() {
    const key = await deviceKey();
    const where = "registry:" + bar.dataset.org;
    let registry = null;
    try {
      const r = await fetch(bar.dataset.keys, { credentials: "same-origin", redirect: "manual", // signed out: not the login page
        headers: { Accept: "application/json" } });
      if (r.ok && (r.headers.get("Content-Type") || "").startsWith("application/json")) {
        registry = await r.json();
        await put("key", registry, where);
      }
    } catch (e) { /* no signal: the last registry seen */ }
    registry ??= await get("key", where);
    const entry = key && registry && registry.keys[key.kid];
    return { key, label: entry ? entry.label : "", revoked: Boolean(entry && entry.revoked), current: Boolean(entry && !entry.revoked) };
  }

  // ---- building an event from a form, as forms.form_data does on the server
  const value = (form, name) => String((form.elements[name] || {}).value || "").trim();
  const activityRows = (form, f) => Array.from({ length: f.rows }, (_, i) =>
    ({ i, what: value(form, `${f.name}_${i}_what`), amount: value(form, `${f.name}_${i}_amount`) }));
  function fieldData(form, spec) {
    const data = {};
    for (const f of spec.fields) {
      if (f.kind === "items" && f.options) { // activity rows, as forms._activity_items: empty rows left out
        const rows = activityRows(form, f).filter((r) => r.what || r.amount)
          .map((r) => ({ ...(f.options[r.what] || {}), ...(r.amount ? { amount: r.amount } : {}) }));
        if (rows.length) data[f.kde] = rows;
        continue;
      }
      const el = form.elements[f.name];
      if (!el) continue;
      if (f.kind === "bool") { data[f.kde] = el.checked; continue; }
      const text = String(el.value ?? "").trim();
      if (f.kind === "list") {
        const items = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
        if (items.length || f.required) data[f.kde] = items;
      } else if (text) data[f.kde] = text;
      else if (f.required) data[f.kde] = null;
    }
    if (spec.type === "correct" && form.elements.amends) data.amends = form.elements.amends.value;
    return { ...data, ...spec.fixed };
  }
  const now = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 19) + "+08:00"; // Asia/Shanghai
  function newBatchId(lot) { // as services.producer.new_batch_id
    const stem = lot.replace(/[^A-Za-z0-9._:-]+/g, "-").replace(/^[-.:]+|[-.:]+$/g, "").slice(0, 40) || "lot";
    return `${stem}-${hex(crypto.getRandomValues(new Uint8Array(3)))}`;
  }
  async function signed(key, obj) {
    const digest = await sha256(enc.encode(FarmtraceVerify.canonical(obj)));
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, new Uint8Array([...CONTEXT, ...digest])));
    return { item: { body: obj, signature: b64(sig) }, hash: hex(digest) };
  }
  const lastHead = (earlier, batch, given) => { // the lot's head on this tablet: its last queued event, else the page's
    for (const e of [...earlier].reverse()) if (e.heads && batch in e.heads) return e.heads[batch];
    return given;
  };
  const taken = (form, spec) => Object.entries(spec.stock || {})
    .map(([id, lot]) => ({ id, lot, quantity: String((form.elements["take-" + id] || {}).value || "").trim() }))
    .filter((t) => t.quantity);
  async function build(form, spec, reg) { // a queue entry: the group of items to send, signed here when we can
    const data = fieldData(form, spec);
    const batch = spec.batch || newBatchId(String(data.lot || "lot"));
    const earlier = await queued();
    const entry = { id: null, org: bar.dataset.org, made: Date.now() + performance.now() / 1e6, batch, type: spec.type, name: spec.name,
      lot: spec.lot || String(data.lot || ""), status: "queued", message: "" };
    const envelope = (type, on, body, prev) => {
      const obj = { v: 1, type, batch: on, org: bar.dataset.org, key: reg.key.kid, id: crypto.randomUUID(), at: now(), data: body };
      if (prev) obj.prev = prev;
      return obj;
    };
    const touched = spec.type === "transform" ? [batch, ...taken(form, spec).map((t) => t.id)] : [batch];
    const drafted = earlier.some((e) => e.kind === "custodial" && e.batches.some((b) => touched.includes(b)));
    if (!reg.current || drafted) { // the org's key on the server signs: a draft, linked there
      if (spec.type === "transform") return null; // its inputs are linked by hash: a registered tablet only
      const obj = { type: spec.type, batch, id: crypto.randomUUID(), at: now(), data };
      return { ...entry, id: obj.id, kind: "custodial", items: [obj], heads: {}, batches: [batch] };
    }
    const items = [], heads = {};
    if (spec.type === "transform") {
      const process = data.process || "";
      delete data.process;
      const links = [];
      for (const t of taken(form, spec)) {
        const c = await signed(reg.key, envelope("consume", t.id, { quantity: t.quantity, unit: t.lot.unit, into: [batch] },
          lastHead(earlier, t.id, t.lot.head)));
        items.push(c.item);
        heads[t.id] = c.hash;
        links.push({ batch: t.id, event: c.hash, quantity: t.quantity, unit: t.lot.unit });
      }
      Object.assign(data, { process, inputs: links });
    }
    const s = await signed(reg.key, envelope(spec.type, batch, data, spec.batch ? lastHead(earlier, batch, spec.prev) : null));
    items.push(s.item);
    heads[batch] = s.hash;
    return { ...entry, id: s.item.body.id, kind: "device", items, heads, batches: Object.keys(heads) };
  }

  // ---- sending
  async function send(entry) {
    const r = await fetch(bar.dataset.sync, { method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": bar.dataset.csrf },
      body: JSON.stringify({ items: entry.items }) });
    const json = (r.headers.get("Content-Type") || "").startsWith("application/json") ? await r.json() : null;
    return { status: r.status, json }; // json null: a login page or a proxy's answer, not ours: try later
  }
  let syncing = false;
  async function syncAll() {
    if (syncing || !navigator.onLine) return;
    syncing = true;
    let sent = 0;
    try {
      const blocked = new Set();
      for (const e of await queued()) {
        if (e.batches.some((b) => blocked.has(b))) continue;
        if (e.status === "conflict" || e.status === "refused") { e.batches.forEach((b) => blocked.add(b)); continue; }
        await put("queue", { ...e, status: "sending" });
        draw();
        let res;
        try { res = await send(e); } catch (err) { res = null; }
        if (res && res.json && res.status < 300) { await drop("queue", e.id); sent += 1; continue; }
        if (!res || !res.json || res.status >= 500 || res.status === 429 || res.status === 401) {
          await put("queue", { ...e, status: "queued" }); // the connection or the session went: later
          break;
        }
        const conflict = res.json.error && res.json.error.code === "chain_conflict";
        await put("queue", { ...e, status: conflict ? "conflict" : "refused", message: res.json.error ? res.json.error.message : "" });
        e.batches.forEach((b) => blocked.add(b));
      }
    } finally {
      syncing = false;
      await draw();
      if (sent) note(say("synced", { n: sent }));
    }
  }
  async function resign(id) { // re-chain a conflicted entry, and the later ones of its lot, after the lot's head now;
    // a step whose time was before the head's takes the head's time: a lot's steps are in time order
    const first = await get("queue", id);
    const reg = await registration();
    if (!first || !reg.current) return;
    const r = await fetch(bar.dataset.head.replace("BATCH", encodeURIComponent(first.batch)), { credentials: "same-origin" });
    if (!r.ok) return;
    const now_ = await r.json();
    let prev = now_.head;
    for (const e of (await queued()).filter((q) => q.batch === first.batch && q.made >= first.made && q.kind === "device" && q.items.length === 1)) {
      const obj = { ...e.items[0].body, key: reg.key.kid };
      if (now_.at && Date.parse(obj.at) < Date.parse(now_.at)) obj.at = now_.at; // after theirs, never before
      if (prev) obj.prev = prev; else delete obj.prev;
      const s = await signed(reg.key, obj);
      await put("queue", { ...e, items: [s.item], heads: { [e.batch]: s.hash }, status: "queued", message: "" });
      prev = s.hash;
    }
    syncAll();
  }

  // ---- the page
  function note(text) {
    let p = $("device-note");
    if (!p) { p = document.createElement("p"); p.id = "device-note"; p.className = "ok card"; p.setAttribute("role", "status"); bar.after(p); }
    p.textContent = "✔ " + text;
  }
  function showErrors(form, error) {
    form.querySelectorAll(".js-error").forEach((n) => n.remove());
    form.querySelectorAll(".has-error").forEach((n) => n.classList.remove("has-error"));
    const m = /^data\.([a-z_]+)(?:\[(\d+)\]\.(\w+))?/.exec(error.field || "");
    const spec = m && m[2] && JSON.parse(form.dataset.record).fields.find((f) => f.kde === m[1] && f.options);
    const row = spec && activityRows(form, spec).filter((r) => r.what || r.amount)[Number(m[2])];
    const el = row ? form.elements[`${spec.name}_${row.i}_${m[3] === "amount" ? "amount" : "what"}`] : m && form.elements["k_" + m[1]];
    if (row && el.closest("details")) el.closest("details").open = true;
    const box = document.createElement("div");
    box.className = "error-summary js-error";
    box.setAttribute("role", "alert");
    box.append(Object.assign(document.createElement("p"), { textContent: W.error }),
      Object.assign(document.createElement("p"), { textContent: error.message }));
    form.prepend(box);
    if (el && el.closest) {
      const span = Object.assign(document.createElement("span"), { className: "form-error js-error", id: el.id + "-error",
        textContent: row ? error.message.replace(/^data\.\w+\[\d+\]\.\w+\s*[：:]\s*/, "") : error.message });
      el.closest(".field").classList.add("has-error");
      el.setAttribute("aria-invalid", "true");
      el.after(span);
      el.focus();
    }
  }
  let REG = null;
  async function draw() {
    const all = await queued();
    $("queue-count").textContent = String(all.length);
    $("net-state").hidden = navigator.onLine;
    const list = $("queue-list");
    if (!list) return;
    list.replaceChildren();
    $("queue-empty").hidden = all.length > 0;
    for (const e of all) {
      const li = document.createElement("li");
      li.className = e.status === "queued" || e.status === "sending" ? "" : "bad";
      li.dataset.id = e.id;
      li.dataset.status = e.status;
      const body = e.items[0].body || e.items[0];
      const what = `${e.name} · ${e.lot} · ${body.at.slice(0, 10)} ${body.at.slice(11, 16)} · ${e.kind === "device" ? W.device_signed : W.custodial_item}`;
      li.append(Object.assign(document.createElement("strong"), { textContent: what }), " — ",
        Object.assign(document.createElement("span"), { className: "status", textContent: W["status_" + e.status] }));
      if (e.status === "conflict" || e.status === "refused") {
        li.append(Object.assign(document.createElement("p"), { textContent: e.message }),
          Object.assign(document.createElement("p"), { className: "hint", textContent: W[e.status + "_help"] }));
        if (e.status === "conflict" && e.kind === "device" && e.items.length === 1) {
          const b = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: W.resign });
          b.addEventListener("click", () => resign(e.id));
          li.append(b, " ");
        }
        const d = Object.assign(document.createElement("button"), { type: "button", textContent: W.delete });
        d.addEventListener("click", async () => { await drop("queue", e.id); draw(); });
        li.append(d);
      }
      list.append(li);
    }
  }
  function drawKey(reg) {
    $("device-state").textContent = !reg.key ? W.unsupported : reg.current ? say("signed_here", { device: reg.label })
      : reg.revoked ? W.revoked : W.custodial;
    for (const li of document.querySelectorAll("li[data-key]")) {
      const mark = li.querySelector(".this-device");
      if (mark) mark.hidden = !(reg.key && li.dataset.key === reg.key.kid);
    }
    const mine = $("this-key");
    if (mine) {
      mine.textContent = reg.key ? reg.key.kid : W.unsupported;
      $("this-state").textContent = reg.current ? say("registered", { device: reg.label }) : reg.revoked ? W.revoked : W.not_registered;
      const form = $("register-device");
      if (form) form.hidden = !reg.key || reg.current;
      const ask = $("ask-admin");
      if (ask) ask.hidden = !reg.key || reg.current;
    }
  }
  async function register(ev) {
    ev.preventDefault();
    const key = await deviceKey();
    const input = $("device-label");
    const r = await fetch(bar.dataset.keys.replace(/keys\.json$/, "register"), { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": bar.dataset.csrf },
      body: JSON.stringify({ public_key: key.pub, label: input.value.trim() }) });
    const json = await r.json().catch(() => null);
    if (r.ok) { location.reload(); return; }
    const err = $("device-label-error");
    err.textContent = json && json.error ? json.error.message : String(r.status);
    err.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "device-label-help device-label-error");
  }
  const lotPage = (spec, batch) => spec.lot_url.replace("BATCH", encodeURIComponent(batch));
  async function submitted(form, spec) {
    const entry = await build(form, spec, REG);
    if (!entry) { showErrors(form, { message: W.transform_needs_key, field: null }); return; }
    const goTo = lotPage(spec, entry.batch);
    if (navigator.onLine) {
      let res = null;
      try { res = await send(entry); } catch (err) { res = null; }
      if (res && res.json && res.status < 300) {
        location.assign(goTo + (spec.batch ? `?recorded=${spec.type}` : "?made=1"));
        return;
      }
      if (res && res.json && res.json.error && res.status < 500 && res.status !== 401 && res.status !== 429) {
        showErrors(form, res.json.error); // refused: nothing written, the error beside its field
        return;
      }
    }
    await put("queue", entry); // no signal: kept here, sent when it returns
    location.assign((spec.batch ? goTo : bar.dataset.scope) + "?queued=1");
  }
  for (const form of document.querySelectorAll("form[data-record]")) {
    form.addEventListener("submit", (ev) => {
      const spec = JSON.parse(form.dataset.record);
      if (navigator.onLine && !(REG && REG.current)) return; // the server's form: the org's key signs
      if (navigator.onLine && spec.type === "transform" && !taken(form, spec).length) return; // the server says what is missing
      ev.preventDefault();
      submitted(form, spec);
    });
  }
  if ($("register-device")) $("register-device").addEventListener("submit", register);
  for (const out of document.querySelectorAll("form[action$='/logout']")) { // the next person sees none of our pages
    out.addEventListener("submit", (ev) => {
      if (!window.caches || out.dataset.cleared) return;
      ev.preventDefault();
      Promise.all(["farmtrace-shell-v1", PAGES].map((n) => caches.delete(n))).finally(() => { out.dataset.cleared = "1"; out.submit(); });
    });
  }
  if ($("sync-now")) $("sync-now").addEventListener("click", syncAll);
  if (new URLSearchParams(location.search).has("queued")) note(W.queued);
  window.addEventListener("online", () => { draw(); syncAll(); });
  window.addEventListener("offline", draw);

  // ---- the service worker, and the forms of the lots seen, kept for a visit without signal
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(bar.dataset.sw, { scope: bar.dataset.scope }).catch(() => {});
  }
  if (navigator.onLine && window.caches) {
    const links = [...document.querySelectorAll(".step-buttons a, a.lot-link")].map((a) => a.href).slice(0, 40);
    if (links.length) caches.open(PAGES).then((c) => Promise.all(links.map((u) => c.add(u)))).catch(() => {});
  }
  registration().then((reg) => { REG = reg; drawKey(reg); bar.dataset.ready = "1"; }).then(draw).then(syncAll);
  window.FarmtraceDevice = { syncAll, queued, registration };
})();
