/* farmtrace consumer page: check the lot's offline bundle on this phone (verify.js) and say so.
 * Reads #verify[data-bundle, data-log-key, data-text-*]; sets #verify[data-state] to
 * "checking" then "ok" | "fail" | "error" | "unsupported", and lists failures in #verify-failures.
 * textContent only; no inline script (CSP script-src 'self'). */
(() => {
  "use strict";
  async function run(section) {
    const status = document.getElementById("verify-status");
    const list = document.getElementById("verify-failures");
    const say = (state, textKey) => {
      section.dataset.state = state;
      section.classList.remove("ok", "fail");
      if (state === "ok" || state === "fail" || state === "error") section.classList.add(state === "ok" ? "ok" : "fail");
      if (status) { status.textContent = section.dataset[textKey] || ""; status.hidden = false; }
    };
    const V = window.FarmtraceVerify;
    if (!V || !V.supported()) { say("unsupported", "textUnsupported"); return; }
    say("checking", "textChecking");
    let report;
    try {
      const url = new URL(section.dataset.bundle, location.href);
      if (url.origin !== location.origin) throw new Error("the bundle must come from this site");
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const doc = await response.json();
      report = await V.verifyBundle(doc, { trustedLogKey: section.dataset.logKey || null,
        lang: (document.documentElement.lang || "zh").startsWith("en") ? "en" : "zh_CN" });
    } catch (err) {
      say("error", "textFail");
      if (list) { const li = document.createElement("li"); li.textContent = String(err && err.message || err); list.replaceChildren(li); }
      return;
    }
    say(report.ok ? "ok" : "fail", report.ok ? "textOk" : "textFail");
    if (!list) return;
    list.replaceChildren(...report.failures.map((f) => {
      const li = document.createElement("li"), code = document.createElement("code");
      li.dataset.code = f.code;
      code.textContent = f.code;
      li.append(code, " " + f.message);
      return li;
    }));
  }
  const start = () => { const section = document.getElementById("verify"); if (section) run(section); };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
