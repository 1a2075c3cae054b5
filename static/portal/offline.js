// Rehabit portal offline: registers the service worker (static/portal/sw.js) on a
// signed-in patient's pages, tells it whose pages these are and which to keep,
// and shows the patient what it holds: a banner when the page is a copy kept on
// the phone or the connection is gone, and the sessions waiting to be sent.
// Without service workers (or without this file) the portal works as before.
(function () {
  "use strict";

  var DRAFT_PREFIX = "rehabit-draft:"; // static/portal/session.js

  function format(text, values) {
    return (text || "").replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? values[name] : all;
    });
  }

  function lang() {
    var code = document.documentElement.lang || "";
    // The portal's English is British (dates as "Friday 4 December", 24-hour times).
    return code === "en" ? "en-GB" : code || undefined;
  }

  function time(value) {
    return new Date(value).toLocaleTimeString(lang(), {hour: "2-digit", minute: "2-digit"});
  }

  function day(iso) {
    var parts = iso.split("-");
    var date = new Date(+parts[0], +parts[1] - 1, +parts[2]);
    return date.toLocaleDateString(lang(), {weekday: "long", day: "numeric", month: "long"});
  }

  function csrf() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // --- The banner

  function showBanner(banner) {
    var copy = document.body.getAttribute("data-offline-copy");
    banner.textContent = "";
    if (navigator.onLine === false || copy) {
      var text = banner.getAttribute("data-offline-text");
      if (navigator.onLine !== false) {
        // Back online on a kept copy: say so, and offer the latest.
        text = banner.getAttribute("data-online-text");
      }
      banner.appendChild(document.createTextNode(text));
      if (copy) {
        banner.appendChild(document.createTextNode(" " + format(banner.getAttribute("data-copy-text"), {time: time(copy)})));
      }
      if (copy && navigator.onLine !== false) {
        var link = document.createElement("a");
        link.href = window.location.pathname;
        link.className = "alert-link ms-1";
        link.textContent = banner.getAttribute("data-reload-text");
        banner.appendChild(document.createTextNode(" "));
        banner.appendChild(link);
      }
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }

  // --- The queue

  function forgetDraft(url) {
    try {
      var store = window.localStorage;
      var keys = [];
      for (var i = 0; i < store.length; i++) {
        var key = store.key(i);
        if (key && key.indexOf(DRAFT_PREFIX) === 0 && key.slice(-(url.length + 1)) === ":" + url) keys.push(key);
      }
      keys.forEach(function (key) { store.removeItem(key); });
    } catch (error) { /* no storage: no drafts */ }
  }

  // hideKept: on the page's own load, a session that waits to be sent is not
  // offered again as an empty form. A tab open before it was kept keeps its form
  // (sending it again replaces the kept entry: the same key, the same entry).
  function render(section, status, post, hideKept) {
    var entries = status.entries || [];
    var list = section.querySelector("[data-offline-list]");
    var summary = section.querySelector("[data-offline-summary]");
    list.textContent = "";
    var waiting = 0;
    entries.sort(function (a, b) { return a.day < b.day ? -1 : a.day > b.day ? 1 : a.session - b.session; });
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.className = "offline-entry offline-entry-" + entry.status;
      item.setAttribute("data-key", entry.key);
      var what = document.createElement("strong");
      what.textContent = entry.session > 1
        ? format(section.getAttribute("data-entry-text"), {date: day(entry.day), n: entry.session})
        : day(entry.day);
      item.appendChild(what);
      item.appendChild(document.createTextNode(": "));
      var state = document.createElement("span");
      if (entry.status === "sent") {
        state.textContent = format(section.getAttribute("data-sent-text"), {time: time(entry.sent)});
      } else if (entry.status === "refused") {
        state.textContent = format(section.getAttribute("data-refused-text"), {message: entry.message});
      } else if (entry.status === "signin") {
        waiting += 1;
        state.textContent = section.getAttribute("data-signin-text");
      } else {
        waiting += 1;
        state.textContent = section.getAttribute("data-waiting-text");
      }
      item.appendChild(state);
      if (entry.status === "refused" || entry.status === "sent") {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn btn-link p-0 ms-2 align-baseline";
        remove.textContent = section.getAttribute("data-remove-text");
        remove.addEventListener("click", function () { post({type: "remove", key: entry.key}); });
        item.appendChild(remove);
      }
      list.appendChild(item);
      if (hideKept && entry.status !== "sent" && entry.status !== "refused") keptForm(section, entry.url);
    });
    summary.textContent = waiting === 1
      ? section.getAttribute("data-waiting-one")
      : waiting > 1 ? format(section.getAttribute("data-waiting-many"), {n: waiting}) : "";
    summary.hidden = waiting === 0;
    section.hidden = entries.length === 0;
  }

  function keptForm(section, url) {
    forgetDraft(url);
    var forms = document.querySelectorAll("form.session-form");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (form.getAttribute("action") !== url || form.hidden) continue;
      form.hidden = true;
      var note = document.createElement("p");
      note.className = "alert alert-info offline-kept-form";
      note.setAttribute("role", "status");
      note.textContent = section.getAttribute("data-kept-form-text");
      form.parentNode.insertBefore(note, form);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var ns = body.getAttribute("data-offline");
    var workerUrl = body.getAttribute("data-worker");
    var banner = document.querySelector("[data-offline-banner]");
    var section = document.querySelector("[data-offline-queue]");
    if (!ns || !workerUrl || !("serviceWorker" in navigator) || !window.MessageChannel) return;

    function post(message, first) {
      return navigator.serviceWorker.ready.then(function (registration) {
        return new Promise(function (resolve) {
          var channel = new MessageChannel();
          channel.port1.onmessage = function (event) { resolve(event.data); };
          registration.active.postMessage(message, [channel.port2]);
        });
      }).then(function (status) {
        if (status && section) render(section, status, post, first === true);
        return status;
      });
    }

    if (banner) {
      showBanner(banner);
      window.addEventListener("offline", function () { showBanner(banner); });
      window.addEventListener("online", function () { showBanner(banner); });
    }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "status" && section) render(section, event.data, post, false);
    });
    window.addEventListener("online", function () { post({type: "flush", csrf: csrf()}); });

    navigator.serviceWorker.register(workerUrl).then(function () {
      var keep = [];
      var links = document.querySelectorAll("a[data-offline-keep]");
      for (var i = 0; i < links.length; i++) keep.push(links[i].href);
      // A kept copy: nothing new to learn from it; just show (and try to send) the queue.
      var message = body.hasAttribute("data-offline-copy")
        ? {type: "flush", csrf: ""}
        : {
          type: "signed-in", ns: ns, csrf: csrf(), keep: keep, lang: lang() || "",
          signedOutText: section ? section.getAttribute("data-signed-out-text") : "",
        };
      return post(message, true);
    }).then(function () {
      body.setAttribute("data-offline-ready", "true");
    }, function () { /* no worker: the portal works as before */ });
  });
})();
