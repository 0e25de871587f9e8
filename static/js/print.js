/* A button with data-print prints the page (the dashboards' print stylesheet hides the
   navigation, the filters and the CSV links). */
(function () {
  "use strict";
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
