/* farmtrace label sheet: the print button (templates/producer/labels.html). It stays hidden where
 * scripts do not run (the browser's own print command still works); no inline script (CSP script-src 'self'). */
(() => {
  "use strict";
  const button = document.getElementById("print-sheet");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
})();
