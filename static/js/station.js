/* Station pages (tablet, gloves).
   A keyboard-wedge scale types its reading and then Enter into the focused field, a few
   milliseconds per character ("ST,GS,+0012.5g⏎", "0.125kg⏎", "12.5⏎"). Such a burst in a weight
   field is read as a weight: the stable marker and unit are dropped, kilograms become grams, the
   field gets the grams and focus moves to the next herb's field. Typing by hand is unchanged.
   A scale on a serial port (RS-232 through a USB adapter) is read the same way where the browser
   offers Web Serial (Chromium, on https or localhost): "连接串口电子秤" asks for the port once, and each
   stable reading line fills the focused weight field (else the first empty one). */
(function () {
  "use strict";
  var BURST_GAP_MS = 60; // a person's keystrokes are further apart than a scale's
  var MIN_CHARS = 2;
  var burst = null;

  function grams(reading) {
    var text = reading.trim();
    if (/^US\b/i.test(text)) return null; // the scale says the reading is not stable yet
    var match = /([+-]?\d+(?:\.\d+)?)[\s,]*(kg|g)?[\s,]*$/i.exec(text);
    if (!match) return null;
    var value = parseFloat(match[1]);
    if (match[2] && match[2].toLowerCase() === "kg") value *= 1000;
    if (!(value > 0)) return null;
    return String(Math.round(value * 100) / 100);
  }

  function nextField(field) {
    var fields = Array.prototype.slice.call(document.querySelectorAll("input[data-scale]"));
    var next = fields[fields.indexOf(field) + 1];
    return next || field.form.querySelector("input[type=file], button[type=submit]");
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("input[data-scale]")) return;
    var now = performance.now();
    var quick = burst && burst.field === field && now - burst.last <= BURST_GAP_MS;
    if (event.key === "Enter") {
      if (quick && burst.text.length >= MIN_CHARS) {
        event.preventDefault(); // a scale's Enter does not submit the form
        var value = grams(burst.text);
        field.value = value === null ? burst.before : value;
        field.classList.toggle("invalid", value === null);
        if (value !== null) {
          var next = nextField(field);
          if (next) next.focus();
        }
      }
      burst = null;
      return;
    }
    if (event.key.length !== 1) {
      burst = null;
      return;
    }
    if (!quick) burst = { field: field, text: "", before: field.value };
    burst.text += event.key;
    burst.last = now;
  });

  function fieldForReading() {
    var focused = document.activeElement;
    if (focused && focused.matches && focused.matches("input[data-scale]")) return focused;
    return Array.prototype.find.call(document.querySelectorAll("input[data-scale]"), function (field) {
      return !field.value;
    });
  }

  function weighed(line) {
    var value = grams(line);
    var field = fieldForReading();
    if (value === null || !field) return;
    field.value = value;
    field.classList.remove("invalid");
    var next = nextField(field);
    if (next) next.focus();
  }

  async function readSerial(port, status) {
    var reader = port.readable.pipeThrough(new TextDecoderStream()).getReader();
    var pending = "";
    status.textContent = status.getAttribute("data-connected");
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      var lines = (pending + chunk.value).split(/[\r\n]+/);
      pending = lines.pop();
      lines.filter(Boolean).forEach(weighed);
    }
    status.textContent = status.getAttribute("data-disconnected");
  }

  var connect = document.querySelector("[data-serial-scale]");
  if (connect && "serial" in navigator) {
    var status = document.querySelector("[data-serial-status]");
    connect.hidden = false;
    connect.addEventListener("click", async function () {
      try {
        var port = await navigator.serial.requestPort();
        await port.open({ baudRate: Number(connect.getAttribute("data-baud-rate")) || 9600 });
        connect.disabled = true;
        await readSerial(port, status);
      } catch (error) {
        status.textContent = status.getAttribute("data-failed");
      } finally {
        connect.disabled = false;
      }
    });
  }

  // The soak timer counts down to its "ready at" time.
  var timer = document.querySelector(".soak-timer[data-ready-at]");
  if (timer) {
    var readyAt = new Date(timer.getAttribute("data-ready-at")).getTime();
    var left = timer.querySelector(".minutes-left");
    setInterval(function () {
      var minutes = Math.max(0, Math.ceil((readyAt - Date.now()) / 60000));
      if (left) left.textContent = left.textContent.replace(/\d+/, String(minutes));
      if (minutes === 0) timer.classList.add("ready");
    }, 15000);
  }
})();
