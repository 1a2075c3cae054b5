// Rehabit portal enhancements. Everything works without this file; it only adds
// the timers that follow a prescription (holds, repetitions, sets, rest), a print
// button, copy buttons and a tap on an exercise's small drawing to open its steps.
(function () {
  "use strict";

  var audio = null;

  function beep() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.3, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.6);
    } catch (error) {
      // Sound is a nicety; the screen still says the time is up.
    }
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m > 0 ? m + ":" + (s < 10 ? "0" : "") + s : String(s);
  }

  // The steps of a prescription: for each set, each side, each repetition a hold
  // (with a short pause to relax between repetitions), then the prescribed rest
  // between sets.
  var RELAX_SECONDS = 3;

  function steps(timer) {
    var hold = parseInt(timer.getAttribute("data-seconds"), 10) || 0;
    var reps = Math.max(1, parseInt(timer.getAttribute("data-reps"), 10) || 1);
    var sets = Math.max(1, parseInt(timer.getAttribute("data-sets"), 10) || 1);
    var rest = Math.max(0, parseInt(timer.getAttribute("data-rest"), 10) || 0);
    var sides = parseInt(timer.getAttribute("data-sides"), 10) === 2
      ? [timer.getAttribute("data-left-label"), timer.getAttribute("data-right-label")]
      : [""];
    var list = [];
    function label(name, n, total) {
      return (timer.getAttribute(name) || "").replace("{n}", n).replace("{total}", total);
    }
    for (var set = 1; set <= sets; set++) {
      for (var s = 0; s < sides.length; s++) {
        for (var rep = 1; rep <= reps; rep++) {
          var parts = [];
          if (sets > 1) parts.push(label("data-set-label", set, sets));
          if (sides[s]) parts.push(sides[s]);
          if (reps > 1) parts.push(label("data-rep-label", rep, reps));
          parts.push(timer.getAttribute("data-hold-label"));
          list.push({seconds: hold, text: parts.join(" · "), kind: "hold"});
          if (rep < reps) list.push({seconds: RELAX_SECONDS, text: timer.getAttribute("data-relax-label"), kind: "relax"});
        }
      }
      if (set < sets && rest > 0) list.push({seconds: rest, text: timer.getAttribute("data-rest-label"), kind: "rest"});
    }
    return list;
  }

  var wakeLock = null;
  function keepAwake(on) {
    // The screen stays on while a timer runs, where the browser allows it.
    try {
      if (on && navigator.wakeLock && !wakeLock) {
        navigator.wakeLock.request("screen").then(function (lock) { wakeLock = lock; }, function () {});
      } else if (!on && wakeLock) {
        wakeLock.release();
        wakeLock = null;
      }
    } catch (error) { /* not supported: the timer still runs */ }
  }

  function setUp(timer) {
    var plan = steps(timer);
    if (!plan.length || plan[0].seconds < 1) return;
    var button = timer.querySelector(".timer-button");
    var display = timer.querySelector(".timer-display");
    var stepText = timer.querySelector(".timer-step");
    var startLabel = button.textContent;
    var interval = null;
    var index = 0;
    var ends = 0;

    function stop(label) {
      window.clearInterval(interval);
      interval = null;
      keepAwake(false);
      button.textContent = label || startLabel;
    }

    function begin(i) {
      index = i;
      ends = Date.now() + plan[i].seconds * 1000;
      timer.setAttribute("data-kind", plan[i].kind);
      stepText.textContent = plan[i].text;
      display.textContent = format(plan[i].seconds);
    }

    function tick() {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      display.textContent = format(left);
      document.dispatchEvent(new CustomEvent("rehabit:timer-tick"));
      if (left > 0) return;
      if (plan[index].kind === "hold") {
        beep();
        if (navigator.vibrate) navigator.vibrate(plan.length > 1 ? 200 : [300, 150, 300]);
      }
      if (index + 1 < plan.length) {
        begin(index + 1);
        return;
      }
      stop();
      timer.classList.add("is-finished");
      timer.removeAttribute("data-kind");
      display.textContent = "";
      stepText.textContent = plan.length > 1
        ? timer.getAttribute("data-finished-label")
        : (timer.getAttribute("data-done-label") || "Time!");
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    }

    button.addEventListener("click", function () {
      if (interval !== null) {
        stop();
        display.textContent = "";
        stepText.textContent = "";
        timer.removeAttribute("data-kind");
        return;
      }
      // Creating the audio context inside the tap lets phones play the beep later.
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) {
        try { audio = new Context(); } catch (error) { audio = null; }
      }
      timer.classList.remove("is-finished");
      begin(0);
      keepAwake(true);
      button.textContent = timer.getAttribute("data-stop-label") || "Stop";
      interval = window.setInterval(tick, 250);
    });
    timer.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var timers = document.querySelectorAll(".timer[data-seconds]");
    for (var i = 0; i < timers.length; i++) setUp(timers[i]);
    var printButtons = document.querySelectorAll("[data-print]");
    for (var j = 0; j < printButtons.length; j++) {
      printButtons[j].addEventListener("click", function () { window.print(); });
      printButtons[j].hidden = false;
    }
    var copyButtons = document.querySelectorAll("[data-copy]");
    for (var k = 0; k < copyButtons.length; k++) setUpCopy(copyButtons[k]);
    // Tapping an exercise's small drawing opens "How to do it" beside it (the
    // disclosure itself is the control for keyboards and screen readers).
    document.addEventListener("click", function (event) {
      var picture = event.target.closest && event.target.closest(".exercise-head > .exercise-picture");
      if (!picture) return;
      var howTo = picture.parentNode.querySelector("details.how-to");
      if (howTo) howTo.open = !howTo.open;
    });
  });

  // A "Copy" button beside a read-only field (the calendar address).
  function setUpCopy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var label = button.textContent;
    button.addEventListener("click", function () {
      field.select();
      var done = function () {
        button.textContent = button.getAttribute("data-copied") || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {});
      } else {
        try { if (document.execCommand("copy")) done(); } catch (error) { /* selected */ }
      }
    });
    button.hidden = false;
  }
})();
