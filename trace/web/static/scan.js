/* farmtrace producer home: read a label's QR code with the tablet's camera (templates/producer/_scan.html).
 * BarcodeDetector on a getUserMedia stream. A GS1 Digital Link with a lot (AI 10) goes to the home's search,
 * ?q=LOT; any other of our label links (a bottle's /01/{gtin}/21/{serial}, a /p/ token, a certificate) goes
 * to /producer/scan?link=PATH, which the server resolves to the lot. Where the browser lacks BarcodeDetector
 * or a camera (or the page is not https: no getUserMedia), the button stays hidden and a message points to
 * the typed search. No inline script (CSP script-src 'self'); window.farmtraceScan.targetFor is for tests. */
(() => {
  "use strict";
  const box = document.getElementById("scan");
  const OTHER = /\/(?:01\/\d{8,14}\/21\/[^/]+|p\/[A-Za-z0-9_-]{8,32}|batches\/[^/]+(?:\/certificate|\/label)?)\/?$/;

  function lotOf(path) {
    const parts = path.split("/");
    const at = parts.indexOf("01");
    if (at < 0 || !/^\d{8,14}$/.test(parts[at + 1] || "")) return null;
    for (let i = at + 2; i + 1 < parts.length; i += 2) {
      if (parts[i] !== "10") continue;
      try { return decodeURIComponent(parts[i + 1]) || null; } catch (e) { return null; }
    }
    return null;
  }

  /* Where a scanned text leads on this app, or null when it is not one of our labels. */
  function targetFor(text, home, resolve) {
    home = home || (box && box.dataset.home) || "/producer/";
    resolve = resolve || (box && box.dataset.resolve) || "/producer/scan";
    let url;
    try { url = new URL(String(text).trim()); } catch (e) { return null; }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    const lot = lotOf(url.pathname);
    if (lot) return home + "?q=" + encodeURIComponent(lot);
    const other = url.pathname.match(OTHER);
    return other ? resolve + "?link=" + encodeURIComponent(other[0]) : null;
  }
  window.farmtraceScan = { targetFor, lotOf };
  if (!box) return;

  const start = document.getElementById("scan-start"), stop = document.getElementById("scan-stop");
  const video = document.getElementById("scan-video"), status = document.getElementById("scan-status");
  const say = (key) => { status.textContent = box.dataset[key] || ""; status.hidden = false; box.dataset.state = key; };
  const media = navigator.mediaDevices;
  let stream = null, running = false;

  function end() {
    running = false;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = stop.hidden = true;
  }
  function fallBack(key) { end(); start.hidden = true; say(key); }

  async function scan(detector) {
    if (!running) return;
    try {
      for (const code of await detector.detect(video)) {
        const target = targetFor(code.rawValue);
        if (target) { end(); say("textOpening"); window.location.assign(target); return; }
        say("textNotOurs");
      }
    } catch (e) { /* no frame yet */ }
    setTimeout(() => scan(detector), 200);
  }

  async function begin() {
    let detector;
    try {
      const formats = window.BarcodeDetector.getSupportedFormats ? await window.BarcodeDetector.getSupportedFormats()
        : ["qr_code"];
      if (!formats.includes("qr_code")) return fallBack("textUnsupported");
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) { return fallBack("textNoCamera"); }
    video.srcObject = stream;
    video.hidden = stop.hidden = false;
    start.hidden = true;
    try { await video.play(); } catch (e) { /* muted autoplay may still start on its own */ }
    say("textLooking");
    running = true;
    scan(detector);
  }

  async function offer() {
    if (!("BarcodeDetector" in window) || !media || typeof media.getUserMedia !== "function") {
      return say("textUnsupported");
    }
    try {
      const devices = media.enumerateDevices ? await media.enumerateDevices() : null;
      if (devices && !devices.some((d) => d.kind === "videoinput")) return say("textNoCamera");
    } catch (e) { /* unknown: let the button try */ }
    start.hidden = false;
    box.dataset.state = "ready";
  }

  start.addEventListener("click", begin);
  stop.addEventListener("click", () => { end(); start.hidden = false; status.hidden = true; });
  offer();
})();
