// Rehabit portal enhancements. Everything works without this file; it only adds
// the countdown timers for holds and static stretches, a print button and copy buttons.
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

  function setUp(timer) {
    var total = parseInt(timer.getAttribute("data-seconds"), 10);
    if (!total || total < 1) return;
    var button = timer.querySelector(".timer-button");
    var display = timer.querySelector(".timer-display");
    var startLabel = button.textContent;
    var interval = null;

    function stop(label) {
      window.clearInterval(interval);
      interval = null;
      button.textContent = label || startLabel;
    }

    button.addEventListener("click", function () {
      if (interval !== null) {
        stop();
        display.textContent = "";
        return;
      }
      // Creating the audio context inside the tap lets phones play the beep later.
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) {
        try { audio = new Context(); } catch (error) { audio = null; }
      }
      var ends = Date.now() + total * 1000;
      timer.classList.remove("is-finished");
      display.textContent = format(total);
      button.textContent = timer.getAttribute("data-stop-label") || "Stop";
      interval = window.setInterval(function () {
        var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
        display.textContent = left > 0 ? format(left) : (timer.getAttribute("data-done-label") || "Time!");
        if (left === 0) {
          stop();
          timer.classList.add("is-finished");
          if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
          beep();
        }
      }, 250);
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
