// Rehabit portal: nothing a patient enters on a session form is lost.
//
// - Drafts: every change to a session form is kept in this browser's
//   localStorage under the signed-in patient and the form's address, with the
//   form's idempotency key. When the sign-in expired, the tab was closed or the
//   connection dropped, the same form comes back filled ("We kept what you
//   entered"), and sending it again with the same key still gives one session.
//   A draft goes once the server confirms the session is saved, when its day is
//   no longer editable, and on signing out.
// - Keep-alive: while the patient is busy with a form (fields changing, a timer
//   running), the sign-in is refreshed at most every few minutes, so it does not
//   expire under them; a phone left alone still signs out after the idle time.
// - "I did all of these" sets every exercise to its full prescription.
// - How long nerve symptoms lasted is asked only once there were any (it is
//   never hidden while it holds an answer or an error).
// - On a page kept on the phone for offline use, each form gets a new key.
// Everything works without this file: the server does the same on its own.
(function () {
  "use strict";

  var PREFIX = "rehabit-draft:";
  var MAX_AGE = 8 * 24 * 3600 * 1000; // the editable window (today and 7 days before), plus a day
  var PING_EVERY = 4 * 60 * 1000;
  var signingOut = false; // no draft is written once the patient signs out

  function storage() {
    try {
      var s = window.localStorage;
      var probe = PREFIX + "probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (error) {
      return null; // private mode or storage switched off: the form still works
    }
  }

  function draftKeys(store) {
    var keys = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) keys.push(key);
    }
    return keys;
  }

  function read(store, key) {
    try { return JSON.parse(store.getItem(key) || "null"); } catch (error) { return null; }
  }

  function tidy(store, owner) {
    var now = Date.now();
    draftKeys(store).forEach(function (key) {
      var draft = read(store, key);
      // Another patient's drafts never stay on a phone someone else signed in on.
      if (!draft || (owner && draft.owner !== owner) || now - (draft.saved || 0) > MAX_AGE) {
        store.removeItem(key);
      }
    });
  }

  function fieldsOf(form) {
    var values = {};
    var elements = form.elements;
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "submit") continue;
      if (el.type === "radio") {
        if (el.checked) values[el.name] = el.value;
      } else if (el.type === "checkbox") {
        values[el.name] = el.checked;
      } else {
        values[el.name] = el.value;
      }
    }
    return values;
  }

  function fill(form, values) {
    var elements = form.elements;
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if (!el.name || !(el.name in values)) continue;
      var value = values[el.name];
      if (el.type === "radio") {
        el.checked = el.value === value;
      } else if (el.type === "checkbox") {
        el.checked = value === true;
      } else if (el.name !== "csrfmiddlewaretoken") {
        el.value = value;
      }
    }
  }

  function notice(form, text, kind) {
    var box = form.querySelector(".draft-notice");
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("role", "status");
      form.insertBefore(box, form.firstChild);
    }
    box.className = "draft-notice alert " + (kind || "alert-info");
    box.textContent = text;
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function setUpForm(form, store, owner) {
    var key = PREFIX + owner + ":" + form.getAttribute("action");
    // A page kept on the phone for offline use (static/portal/sw.js) may show a form
    // whose key was sent already: each showing of it is a new entry, as from the server.
    var keyField = form.querySelector("input[name=idempotency_key]");
    if (keyField && document.body.hasAttribute("data-offline-copy") && window.crypto) {
      keyField.value = newKey();
    }
    var draft = read(store, key);
    if (draft && draft.owner === owner && draft.fields) {
      fill(form, draft.fields);
      notice(form, form.getAttribute("data-restored-text"), "alert-warning");
    }
    var saving = null;
    function keep() {
      window.clearTimeout(saving);
      saving = window.setTimeout(function () {
        if (signingOut) return;
        try {
          store.setItem(key, JSON.stringify({owner: owner, saved: Date.now(), fields: fieldsOf(form), sent: false}));
        } catch (error) { /* storage full: nothing more we can do here */ }
      }, 150);
    }
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("submit", function () {
      window.clearTimeout(saving);
      // Sent, but not known to be saved: kept until the server says it is.
      try {
        store.setItem(key, JSON.stringify({owner: owner, saved: Date.now(), fields: fieldsOf(form), sent: true}));
      } catch (error) { /* ignore */ }
    });
  }

  function setUpFillAll(form) {
    var button = form.querySelector("[data-fill-all]");
    if (!button) return;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var groups = form.querySelectorAll("[data-sets-group]");
      for (var i = 0; i < groups.length; i++) {
        var radios = groups[i].querySelectorAll("input[type=radio]");
        if (radios.length) {
          radios[radios.length - 1].checked = true; // the last choice is "all sets"
        }
      }
      form.dispatchEvent(new Event("change", {bubbles: true}));
      var status = form.querySelector("[data-fill-all-status]");
      if (status) status.textContent = status.getAttribute("data-text");
    });
  }

  function setUpSymptoms(form) {
    var detail = form.querySelector("[data-symptoms-detail]");
    if (!detail) return function () {};
    function update() {
      var none = form.querySelector("input[name=nerve_symptoms][value=none]");
      var lasted = detail.querySelector("input[type=checkbox]");
      var minutes = detail.querySelector("input[type=number], input[inputmode=numeric]");
      var answered = (lasted && lasted.checked) || (minutes && minutes.value !== "");
      var invalid = detail.querySelector(".is-invalid, .invalid-feedback");
      detail.hidden = Boolean(none && none.checked && !answered && !invalid);
    }
    form.addEventListener("change", update);
    update();
    return update;
  }

  function setUpKeepAlive(url, token, expiredText) {
    var last = Date.now();
    function ping() {
      if (Date.now() - last < PING_EVERY) return;
      last = Date.now();
      var request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("X-CSRFToken", token);
      request.onload = function () {
        // A sign-in that already expired answers with the sign-in page.
        if (request.responseURL && request.responseURL.indexOf(url) === -1) {
          var forms = document.querySelectorAll("form.session-form");
          for (var i = 0; i < forms.length; i++) notice(forms[i], expiredText, "alert-warning");
        }
      };
      request.send();
    }
    document.addEventListener("input", ping);
    document.addEventListener("change", ping);
    document.addEventListener("rehabit:timer-tick", ping);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var store = storage();
    var body = document.body;
    var owner = body.getAttribute("data-patient") || "";

    // Signing out clears this patient's drafts from the phone.
    var logout = document.querySelector("form.portal-logout");
    if (logout && store) {
      logout.addEventListener("submit", function () {
        signingOut = true;
        draftKeys(store).forEach(function (key) { store.removeItem(key); });
      });
    }

    var forms = document.querySelectorAll("form.session-form");
    var symptoms = [];
    for (var i = 0; i < forms.length; i++) {
      setUpFillAll(forms[i]);
      symptoms.push(setUpSymptoms(forms[i]));
    }

    if (!store) return;
    if (!owner) {
      // Signed out (the sign-in page): say that a kept entry waits for them.
      var kept = document.querySelector("[data-kept-text]");
      if (kept && draftKeys(store).length) {
        kept.textContent = kept.getAttribute("data-kept-text");
        kept.hidden = false;
      }
      return;
    }
    tidy(store, owner);
    // The server confirmed a session: drafts that were sent are saved now.
    if (document.querySelector("[data-session-saved]")) {
      draftKeys(store).forEach(function (key) {
        var draft = read(store, key);
        if (draft && draft.sent) store.removeItem(key);
      });
    }
    for (var j = 0; j < forms.length; j++) {
      setUpForm(forms[j], store, owner);
      symptoms[j](); // a restored draft may hold symptoms
    }
    var alive = body.getAttribute("data-keepalive");
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (alive && token && forms.length) {
      setUpKeepAlive(alive, token.value, body.getAttribute("data-expired-text") || "");
    }
  });
})();
