// Live parts of the manager; every page works without this file.
// Text goes in with textContent only: nothing from the server becomes markup here.
"use strict";

function statusBadge(status, label) {
  const span = document.createElement("span");
  span.className = "status s-" + status;
  span.textContent = label;
  return span;
}

function cell(text) {
  const element = document.createElement("td");
  element.textContent = text;
  return element;
}

function updateOrder(region, data) {
  const status = document.getElementById("order-status");
  if (status.dataset.status !== data.status) {
    status.dataset.status = data.status;
    status.textContent = data.label;
    status.className = "status s-" + data.status;
  }
  const timeline = document.getElementById("timeline");
  if (timeline && timeline.children.length !== data.statuses.length) {
    timeline.replaceChildren(...data.statuses.map((step) => {
      const item = document.createElement("li");
      item.append(statusBadge(step.status, step.label), " " + step.at + " by " + step.by
        + (step.note ? " — " + step.note : ""));
      return item;
    }));
  }
  const image = document.getElementById("order-image");
  if (image && data.image) image.textContent = data.image;
  const cards = document.querySelector("#cards tbody");
  if (cards && cards.children.length !== data.cards.length) {
    cards.replaceChildren(...data.cards.map((card) => {
      const row = document.createElement("tr");
      row.append(cell(card.host), cell(String(card.slot)), cell(card.serial), cell(card.size), cell(card.at));
      return row;
    }));
    document.getElementById("cards").hidden = data.cards.length === 0;
    document.getElementById("no-cards").hidden = data.cards.length > 0;
    const count = document.getElementById("cards-count");
    count.textContent = count.textContent.replace(/^\d+/, String(data.cards.length));
  }
  const body = document.querySelector("#tasks tbody");
  for (const task of data.tasks) {
    let row = body.querySelector('tr[data-task="' + CSS.escape(task._id) + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.dataset.task = task._id;
      for (const name of ["id", "kind", "task-status", "task-worker", "task-progress"]) {
        const element = document.createElement("td");
        element.className = name;
        row.append(element);
      }
      row.append(document.createElement("td"));
      const code = document.createElement("code");
      code.textContent = task.short;
      row.children[0].append(code);
      row.children[1].textContent = task.kind;
      body.append(row);
    }
    row.querySelector(".task-status").replaceChildren(statusBadge(task.status, task.label));
    row.querySelector(".task-worker").textContent = task.worker || "—";
    const progress = row.querySelector(".task-progress");
    const parts = [];
    if (typeof task.percent === "number") {
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = task.percent;
      parts.push(bar);
    }
    const text = document.createElement("span");
    text.className = "progress-text";
    text.textContent = task.progress;
    parts.push(text);
    progress.replaceChildren(...parts);
  }
  const log = document.getElementById("log-lines");
  if (log && log.children.length !== data.logs.length) {
    log.replaceChildren(...data.logs.map((line) => {
      const item = document.createElement("li");
      item.className = "level-" + line.level;
      const time = document.createElement("span");
      time.className = "muted";
      time.textContent = line.at;
      item.append(time, " " + line.level + ": " + line.message);
      return item;
    }));
    const none = document.getElementById("no-logs");
    if (none) none.remove();
  }
  // Actions follow the live state: each form shows while the order's status allows it.
  for (const form of document.querySelectorAll("#actions form[data-action]")) {
    form.hidden = !data.actions.includes(form.dataset.action);
  }
  const retry = document.getElementById("retry-order");
  if (retry) retry.textContent = data.retry_label;
  const none = document.getElementById("no-actions");
  if (none) none.hidden = data.actions.length > 0;
}

function pollOrder(region) {
  const url = region.dataset.live;
  const tick = async () => {
    try {
      const reply = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (reply.ok) updateOrder(region, await reply.json());
    } catch (error) {
      // The manager is away for a moment; the next tick tries again.
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

// Dashboard and fleet: fetch the page again and swap the region (parsed, inert: scripts never run).
function refreshRegion(region) {
  const seconds = Number(region.dataset.refresh) || 10;
  const tick = async () => {
    try {
      const reply = await fetch(location.href, { credentials: "same-origin" });
      if (reply.ok) {
        const page = new DOMParser().parseFromString(await reply.text(), "text/html");
        const fresh = page.getElementById(region.id);
        if (fresh) {
          region.replaceChildren(...Array.from(fresh.childNodes).map((node) => document.importNode(node, true)));
        }
      }
    } catch (error) {
      // Try again on the next tick.
    }
    setTimeout(tick, seconds * 1000);
  };
  setTimeout(tick, seconds * 1000);
}

// Recipe and new-order forms: the manager re-reads the form as it is typed and says what the recipe
// rules make of it (bytes known, files of unknown size, sizes read back, the smallest card that fits).
function liveEstimate(form, region) {
  let timer = null;
  let asked = 0;
  let flagged = null; // the field whose error this estimate showed (API errors stay until the next submit)
  const show = (id, text) => {
    const element = document.getElementById(id);
    if (element) element.textContent = text;
  };
  const update = async () => {
    const mine = ++asked;
    try {
      const reply = await fetch(region.dataset.live, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      if (!reply.ok || mine !== asked) return;
      const data = await reply.json();
      if (flagged) show("error-" + flagged, "");
      flagged = data.error ? data.field : null;
      if (data.error) {
        show("error-" + data.field, data.error);
        return;
      }
      show("estimate-bytes", String(data.known));
      show("estimate-unknown", data.unknown ? ", plus " + data.unknown + " URL file(s) of unknown size" : "");
      show("estimate-output", data.output ? "; image " + data.output + " bytes" : "");
      show("suggestion", data.suggestion ? data.suggestion + " GB" : "unknown");
      for (const element of form.querySelectorAll(".file-size")) {
        element.textContent = data.sizes[element.id.replace("file-size-", "")] || "";
      }
    } catch (error) {
      // The manager is away for a moment; the next change asks again.
    }
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const order = document.getElementById("order-live");
  if (order) pollOrder(order);
  for (const region of document.querySelectorAll("[data-refresh]")) refreshRegion(region);
  const estimate = document.getElementById("estimate");
  if (estimate) liveEstimate(estimate.closest("form"), estimate);
});
