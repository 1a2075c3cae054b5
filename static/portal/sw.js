// Rehabit portal's service worker (served at /portal/sw.js; see portal/offline.py).
//
// - Keeps the signed-in patient's Today and My plan pages, the drawings and other
//   files they show, and the active plan's handout, in a cache named for that
//   patient ("namespace": a value only the server can work out, which every page
//   of a signed-in patient carries as data-offline). Pages are fetched from the
//   network first; only when that fails is the kept copy shown, and only while
//   the phone is still signed in as the patient it belongs to.
// - Queues a session form sent without a connection in IndexedDB, under its
//   idempotency key (the server's own guard against replays, so sending it twice
//   records it once), and sends it when the connection is back: Background Sync
//   where the browser has it, otherwise when a portal page loads or goes online.
// - Signing out clears every cache and queued entry. Another patient's pages
//   arriving clear the previous patient's too. A sign-in that expired (the
//   sign-in page comes back) removes the kept pages but keeps the queue, which
//   is sent once the same patient signs in again.
"use strict";

var SCOPE = new URL("./", self.location).pathname; // "/portal/"
var LOGIN = SCOPE + "login/";
var LOGOUT = SCOPE + "logout/";
var LOG_PATH = new RegExp("^" + SCOPE + "log/(\\d+)/(\\d{4}-\\d{2}-\\d{2})/(\\d+)/$");
var CACHE_PREFIX = "rehabit-patient-";
var DB_NAME = "rehabit-offline";
var SYNC_TAG = "rehabit-sessions";
// Kept pages are shown offline for this long after the server last showed the
// patient signed in (the logging window: older sessions cannot be sent anyway).
var OFFLINE_MAX_AGE = 7 * 24 * 3600 * 1000;
// Kept pages other than the one open are fetched again at most this often.
var REFRESH_EVERY = 5 * 60 * 1000;
// Sent entries stay listed ("Sent at 14:32") for this long.
var SENT_SHOWN_FOR = 24 * 3600 * 1000;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// --- IndexedDB: "meta" holds the owner (whose pages are kept), "queue" the sessions.

var dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("meta");
        request.result.createObjectStore("queue", {keyPath: "key"});
      };
      request.onsuccess = function () {
        var database = request.result;
        // Cleared from outside (Clear-Site-Data on signing out): open it afresh next time.
        database.onversionchange = function () { database.close(); dbPromise = null; };
        resolve(database);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
    });
  }
  return dbPromise;
}

function run(store, mode, work) {
  return db().then(function (database) {
    return new Promise(function (resolve, reject) {
      var tx = database.transaction(store, mode);
      var result = work(tx.objectStore(store));
      tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error); };
    });
  });
}

function getOwner() {
  return run("meta", "readonly", function (s) { return s.get("owner"); }).then(function (o) { return o || null; });
}

function setOwner(owner) {
  return run("meta", "readwrite", function (s) { return owner ? s.put(owner, "owner") : s.delete("owner"); });
}

function allEntries() {
  return run("queue", "readonly", function (s) { return s.getAll(); });
}

function putEntry(entry) {
  return run("queue", "readwrite", function (s) { return s.put(entry); });
}

function deleteEntries(keep) {
  // Every queued entry for which keep(entry) is false goes.
  return allEntries().then(function (entries) {
    return run("queue", "readwrite", function (s) {
      entries.forEach(function (entry) { if (!keep(entry)) s.delete(entry.key); });
    });
  });
}

function cacheName(ns) {
  return CACHE_PREFIX + ns;
}

function deleteCaches(except) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(CACHE_PREFIX) === 0 && name !== except;
    }).map(function (name) { return caches.delete(name); }));
  });
}

// Everything of every patient: signing out.
function wipe() {
  return Promise.all([setOwner(null), deleteEntries(function () { return false; }), deleteCaches(null)]);
}

// Signed out without a connection: the server still holds the sign-in, so it is
// ended on the first request once the connection is back, before anything else.
function pendingSignOut() {
  return run("meta", "readonly", function (s) { return s.get("sign-out"); });
}

function setPendingSignOut(value) {
  return run("meta", "readwrite", function (s) { return value ? s.put(value, "sign-out") : s.delete("sign-out"); });
}

function finishSignOut() {
  return pendingSignOut().then(function (pending) {
    if (!pending) return null;
    var form = new URLSearchParams({csrfmiddlewaretoken: pending.csrf || ""});
    return fetch(LOGOUT, {method: "POST", body: form, credentials: "same-origin", headers: {"X-CSRFToken": pending.csrf || ""}})
      .then(function (response) {
        // Signed out now, or no sign-in was left to end (a refused token means the
        // token belonged to a sign-in that is over).
        if (response.ok || response.status === 403) return setPendingSignOut(null);
        return null;
      });
  });
}

function signedOutPage(pending) {
  var text = (pending && pending.text) || "Signed out.";
  var html = "<!doctype html><html lang=\"" + ((pending && pending.lang) || "en") + "\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Rehabit</title></head>" +
    "<body style=\"font: 1.25rem/1.5 system-ui, sans-serif; margin: 2rem;\"><p></p></body></html>";
  html = html.replace("<p></p>", "<p>" + text.replace(/&/g, "&amp;").replace(/</g, "&lt;") + "</p>");
  return new Response(html, {headers: {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}});
}

// The sign-in ended (expired, or signed out elsewhere): no page is shown offline
// any more; queued sessions wait for the same patient to sign in again.
function signedOut() {
  return getOwner().then(function (owner) {
    if (!owner) return null;
    return Promise.all([setOwner(null), deleteCaches(null)]);
  });
}

function usable(owner) {
  return owner && Date.now() - owner.confirmed < OFFLINE_MAX_AGE;
}

// --- Keeping pages

function marker(ns) {
  return 'data-offline="' + ns + '"';
}

// The same page, marked as a copy kept on the phone (offline.js shows the banner).
function markedCopy(response, html, ns) {
  var copy = html.replace(marker(ns), marker(ns) + ' data-offline-copy="' + new Date().toISOString() + '"');
  var headers = new Headers(response.headers);
  headers.delete("Content-Length");
  return new Response(copy, {status: response.status, statusText: response.statusText, headers: headers});
}

function isHtml(response) {
  return (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

// The files a kept page needs (stylesheets, scripts, drawings) and the pages it
// marks to keep too (data-offline-keep: the handout on My plan).
function linksIn(html, base) {
  var found = {pages: [], files: []};
  var attr = /\b(?:src|href)="([^"]+)"/g;
  var match;
  while ((match = attr.exec(html)) !== null) {
    var url = new URL(match[1].replace(/&amp;/g, "&"), base);
    if (url.origin !== self.location.origin) continue;
    if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/media/") === 0) {
      found.files.push(url.href);
    }
  }
  var tags = /<a\b[^>]*\bdata-offline-keep\b[^>]*>/g;
  while ((match = tags.exec(html)) !== null) {
    var href = /\bhref="([^"]+)"/.exec(match[0]);
    if (href) found.pages.push(new URL(href[1].replace(/&amp;/g, "&"), base).href);
  }
  return found;
}

// Stores a page the network just gave, if it is the owner's. Returns its links.
function keepPage(owner, url, response) {
  var target = new URL(url);
  if (!response.ok || response.redirected || new URL(response.url).pathname !== target.pathname) {
    return Promise.resolve(null);
  }
  var cache = caches.open(cacheName(owner.ns));
  if (!isHtml(response)) {
    // A handout: a PDF of the owner's plan, asked for with the owner's sign-in.
    return cache.then(function (c) { return c.put(target.pathname, response); }).then(function () { return null; });
  }
  return response.text().then(function (html) {
    // Only a page made for this patient is kept under their name.
    if (html.indexOf(marker(owner.ns)) === -1) return null;
    return cache.then(function (c) {
      return c.put(target.pathname, markedCopy(response, html, owner.ns));
    }).then(function () { return linksIn(html, url); });
  });
}

function fetchAndKeep(owner, url) {
  return fetch(url, {credentials: "same-origin"}).then(function (response) {
    return keepPage(owner, url, response);
  }).catch(function () { return null; });
}

function keepFiles(owner, urls) {
  return caches.open(cacheName(owner.ns)).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return cache.match(url).then(function (hit) {
        if (hit) return null;
        return fetch(url).then(function (response) {
          if (response.ok) return cache.put(url, response);
          return null;
        }).catch(function () { return null; });
      });
    }));
  });
}

// Today and My plan (the links the page marked), what they link to and show.
function keepAll(owner, urls) {
  var pages = urls.slice();
  var seen = {};
  var files = [];
  function next() {
    var url = pages.shift();
    if (!url) return keepFiles(owner, files);
    if (seen[url]) return next();
    seen[url] = true;
    return fetchAndKeep(owner, url).then(function (links) {
      if (links) {
        links.pages.forEach(function (page) { if (!seen[page]) pages.push(page); });
        files = files.concat(links.files);
      }
      return next();
    });
  }
  return next().then(function () {
    return setOwner(Object.assign({}, owner, {refreshed: Date.now(), keep: Object.keys(seen).map(function (u) { return new URL(u).pathname; })}));
  });
}

// --- The queue

var flushing = null;

function parseLog(url) {
  var match = LOG_PATH.exec(new URL(url).pathname);
  return match ? {plan: +match[1], day: match[2], session: +match[3]} : null;
}

function queueSession(owner, url, body) {
  var form = new URLSearchParams(body);
  var where = parseLog(url);
  var entry = {
    key: form.get("idempotency_key") || (self.crypto.randomUUID ? self.crypto.randomUUID() : String(Date.now())),
    ns: owner.ns,
    url: new URL(url).pathname,
    body: body,
    day: where.day,
    session: where.session,
    created: Date.now(),
    status: "waiting",
  };
  return putEntry(entry).then(function () {
    if (self.registration.sync) {
      return self.registration.sync.register(SYNC_TAG).catch(function () {});
    }
    return null;
  }).then(tell);
}

// Sends the owner's waiting sessions one by one. Resolves false when the
// connection (or the sign-in) is not there yet, so Background Sync tries again.
function flush(token) {
  if (flushing) return flushing;
  flushing = getOwner().then(function (owner) {
    if (!owner) return false;
    if (token && token !== owner.csrf) {
      owner.csrf = token;
      return setOwner(owner).then(function () { return owner; });
    }
    return owner;
  }).then(function (owner) {
    if (!owner) return false;
    return allEntries().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.ns === owner.ns && e.status !== "sent" && e.status !== "refused"; });
      waiting.sort(function (a, b) { return a.created - b.created; });
      function next() {
        var entry = waiting.shift();
        if (!entry) return true;
        return send(owner, entry).then(function (more) { return more ? next() : false; });
      }
      return next();
    });
  }).then(function (done) {
    flushing = null;
    return tell().then(function () { return done; });
  }, function (error) {
    flushing = null;
    throw error;
  });
  return flushing;
}

function send(owner, entry) {
  var form = new URLSearchParams(entry.body);
  if (owner.csrf) form.set("csrfmiddlewaretoken", owner.csrf);
  return fetch(entry.url, {
    method: "POST",
    body: form,
    credentials: "same-origin",
    headers: {"X-Rehabit-Queued": "1", "X-CSRFToken": owner.csrf || form.get("csrfmiddlewaretoken") || ""},
  }).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      return response.json().then(function (answer) {
        if (answer.status === "saved") {
          entry.status = "sent";
          entry.sent = Date.now();
        } else if (response.status === 503) {
          return false; // the server is busy: later
        } else {
          entry.status = "refused";
          entry.message = answer.message || "";
        }
        return putEntry(entry).then(function () { return true; });
      });
    }
    if (response.redirected && new URL(response.url).pathname === LOGIN) {
      // The sign-in expired: sent once the patient signs in again.
      entry.status = "signin";
      return putEntry(entry).then(signedOut).then(function () { return false; });
    }
    return false; // anything else (a refused CSRF token, a server error): try again later
  }, function () {
    return false; // still offline
  });
}

// --- Talking to the pages

function statusFor(owner) {
  return allEntries().then(function (entries) {
    var now = Date.now();
    var old = entries.filter(function (e) { return e.status === "sent" && now - e.sent > SENT_SHOWN_FOR; });
    var mine = entries.filter(function (e) {
      return owner && e.ns === owner.ns && old.indexOf(e) === -1;
    }).map(function (e) {
      return {key: e.key, url: e.url, day: e.day, session: e.session, status: e.status, sent: e.sent || null, message: e.message || ""};
    });
    var cleanup = old.length ? deleteEntries(function (e) { return old.every(function (o) { return o.key !== e.key; }); }) : Promise.resolve();
    return cleanup.then(function () {
      return {type: "status", owner: owner ? owner.ns : null, entries: mine, kept: owner ? (owner.keep || []) : []};
    });
  });
}

function tell() {
  return getOwner().then(statusFor).then(function (status) {
    return self.clients.matchAll({type: "window"}).then(function (clients) {
      clients.forEach(function (client) { client.postMessage(status); });
    });
  });
}

// A signed-in page loaded: it says whose it is and what to keep.
function signedIn(data) {
  return getOwner().then(function (owner) {
    var changed = !owner || owner.ns !== data.ns;
    var steps = [];
    if (changed) {
      // Another patient's pages and queue never stay on a phone someone else uses.
      steps.push(deleteCaches(cacheName(data.ns)));
      steps.push(deleteEntries(function (e) { return e.ns === data.ns; }));
    }
    return Promise.all(steps).then(function () {
      var next = Object.assign({}, changed ? {} : owner, {
        ns: data.ns, csrf: data.csrf, confirmed: Date.now(), signedOutText: data.signedOutText || "", lang: data.lang || "",
      });
      return setOwner(next).then(function () {
        if (!changed && next.refreshed && Date.now() - next.refreshed < REFRESH_EVERY) return null;
        return keepAll(next, data.keep);
      });
    });
  }).then(function () {
    return flush(data.csrf);
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var reply = function () {
    return getOwner().then(statusFor).then(function (status) {
      if (event.ports && event.ports[0]) event.ports[0].postMessage(status);
    });
  };
  var work;
  if (data.type === "signed-in" && typeof data.ns === "string" && data.ns) {
    work = signedIn(data);
  } else if (data.type === "flush") {
    work = flush(data.csrf);
  } else if (data.type === "sign-out") {
    work = wipe();
  } else if (data.type === "remove" && data.key) {
    work = deleteEntries(function (e) { return e.key !== data.key || e.status === "waiting"; });
  } else {
    work = Promise.resolve();
  }
  event.waitUntil(work.catch(function () {}).then(reply));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(flush(null).then(function (done) {
    if (!done) throw new Error("not sent yet");
  }));
});

// --- Requests

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.method === "POST" && url.pathname === LOGOUT) {
    // Cleared before the request leaves, so nothing stays even if it never arrives.
    event.respondWith(getOwner().then(function (owner) {
      var pending = owner ? {csrf: owner.csrf, text: owner.signedOutText, lang: owner.lang} : null;
      return wipe().then(function () { return pending; });
    }).catch(function () { return null; }).then(function (pending) {
      return fetch(request).catch(function () {
        return (pending ? setPendingSignOut(pending) : Promise.resolve()).then(function () {
          return signedOutPage(pending);
        });
      });
    }));
    return;
  }

  if (request.method === "POST" && LOG_PATH.test(url.pathname)) {
    var copy = request.clone();
    event.respondWith(fetch(request).catch(function (error) {
      // No connection: kept on the phone and sent later.
      return Promise.all([getOwner(), copy.text()]).then(function (both) {
        var owner = both[0];
        if (!usable(owner)) throw error;
        return queueSession(owner, request.url, both[1]).then(function () {
          return Response.redirect(SCOPE + "?kept=1", 303);
        });
      });
    }));
    return;
  }

  if (request.method !== "GET") return;

  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/media/") === 0) {
    event.respondWith(fetch(request).catch(function (error) {
      return caches.match(request).then(function (hit) {
        if (hit) return hit;
        throw error;
      });
    }));
    return;
  }

  if (url.pathname.indexOf(SCOPE) !== 0 || url.pathname === SCOPE + "sw.js") return;

  event.respondWith(finishSignOut().catch(function () {}).then(function () {
    return fetch(request);
  }).then(function (response) {
    var path = new URL(response.url).pathname;
    if (request.mode === "navigate" && path === LOGIN) {
      // Signed out (expired, or elsewhere): kept pages are no longer shown.
      event.waitUntil(signedOut().catch(function () {}));
    } else if (!url.search && response.ok) {
      var forCache = response.clone();
      event.waitUntil(getOwner().then(function (owner) {
        if (usable(owner) && (owner.keep || []).indexOf(url.pathname) !== -1) {
          return keepPage(owner, request.url, forCache);
        }
        return null;
      }).catch(function () {}));
    }
    return response;
  }, function (error) {
    return Promise.all([getOwner(), pendingSignOut()]).then(function (both) {
      var owner = both[0];
      if (both[1] && request.mode === "navigate") return signedOutPage(both[1]);
      if (!usable(owner) || (owner.keep || []).indexOf(url.pathname) === -1) throw error;
      return caches.open(cacheName(owner.ns)).then(function (cache) {
        return cache.match(url.pathname);
      }).then(function (hit) {
        if (hit) return hit;
        throw error;
      });
    });
  }));
});
