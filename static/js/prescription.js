// The prescription page follows its status without a reload while background work moves it.
(function () {
  "use strict";
  const status = document.getElementById("status");
  if (!status) return;
  const settled = ["rejected", "cancelled", "delivered", "picked_up"];
  let delay = 1000;

  const titlesNode = document.getElementById("finding-titles");
  const titles = titlesNode ? JSON.parse(titlesNode.textContent) : {};

  function renderAudit(audit) {
    const pending = document.getElementById("audit-pending");
    if (!pending) return;
    const box = document.createElement("div");
    if (!audit.findings.length) box.textContent = pending.dataset.clean;
    audit.findings.forEach((finding) => {
      const div = document.createElement("div");
      div.className = "finding sev-" + finding.severity;
      const strong = document.createElement("strong");
      strong.textContent = titles[finding.code] || finding.code;
      const small = document.createElement("small");
      small.textContent = " " + (pending.dataset.sourceLabel || "") + "：" + finding.source;
      div.append(strong, " " + finding.message, small);
      box.appendChild(div);
    });
    pending.replaceWith(box);
  }

  async function poll() {
    if (settled.includes(status.dataset.status)) return;
    try {
      const response = await fetch(status.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        if (data.status !== status.dataset.status) {
          const wasSubmitted = status.dataset.status === "submitted";
          status.dataset.status = data.status;
          status.textContent = data.status_label;
          status.className = "status status-" + data.status;
          const timeline = document.getElementById("timeline");
          timeline.innerHTML = "";
          data.events.forEach((event) => {
            const li = document.createElement("li");
            const strong = document.createElement("strong");
            strong.textContent = event.stage_label;
            li.append(strong, " " + event.at.replace("T", " ").slice(0, 19) + " · " + event.actor);
            timeline.appendChild(li);
          });
          if (wasSubmitted && data.audit) renderAudit(data.audit);
          return setTimeout(poll, 1000);
        }
      }
    } catch (error) { /* offline for a moment: try again */ }
    delay = Math.min(delay * 1.5, 15000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, 500);
})();
