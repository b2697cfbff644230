/* opencases workspace: small page helpers shared by every page.
 * - <time datetime> elements show the reader's local time (the server renders UTC);
 * - buttons with data-confirm ask before they submit. */
(function () {
  "use strict";

  function localizeTimes() {
    var format = { dateStyle: "medium", timeStyle: "short" };
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var value = el.getAttribute("datetime");
      if (!value) return;
      var moment = new Date(value);
      if (isNaN(moment.getTime())) return;
      el.title = el.textContent.trim();
      el.textContent = moment.toLocaleString(undefined, format);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localizeTimes);
  } else {
    localizeTimes();
  }
})();
