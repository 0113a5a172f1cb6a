/* Progressive enhancement of the survey form (the form works without it):
   live consistency ratio (CR) of AHP pairwise comparisons and the running total of allocations.
   The server checks both again when the page is sent. */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }

  function judgement(text) {
    if (!text) { return null; }
    var parts = String(text).split("/");
    var v = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(text);
    return isFinite(v) && v > 0 ? v : null;
  }

  /* Saaty's consistency ratio: principal eigenvalue by power iteration, CI = (lambda - n)/(n - 1),
     CR = CI / RI (the random index of the question's RI table, given by the server). */
  function consistencyRatio(matrix, ri) {
    var n = matrix.length, w = [], i, j, k;
    if (n <= 2 || !(ri > 0)) { return 0; }
    for (i = 0; i < n; i++) { w.push(1 / n); }
    for (k = 0; k < 200; k++) {
      var next = [], sum = 0;
      for (i = 0; i < n; i++) {
        var s = 0;
        for (j = 0; j < n; j++) { s += matrix[i][j] * w[j]; }
        next.push(s); sum += s;
      }
      var delta = 0;
      for (i = 0; i < n; i++) { next[i] /= sum; delta = Math.max(delta, Math.abs(next[i] - w[i])); }
      w = next;
      if (delta < 1e-12) { break; }
    }
    var lambda = 0;
    for (i = 0; i < n; i++) {
      var row = 0;
      for (j = 0; j < n; j++) { row += matrix[i][j] * w[j]; }
      lambda += row / w[i];
    }
    lambda /= n;
    return Math.max((lambda - n) / (n - 1), 0) / ri;
  }

  function setupAhp(box) {
    var codes = box.getAttribute("data-codes").split(" ");
    var ri = Number(box.getAttribute("data-ri"));
    var threshold = Number(box.getAttribute("data-threshold"));
    var qid = box.getAttribute("data-qid");
    var out = box.querySelector(".ahp-cr");
    function update() {
      var n = codes.length, m = [], i, j, missing = 0;
      for (i = 0; i < n; i++) { m.push([]); for (j = 0; j < n; j++) { m[i].push(i === j ? 1 : null); } }
      for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
          var name = "q." + qid + "." + codes[i] + ":" + codes[j];
          var picked = box.querySelector('input[name="' + name.replace(/"/g, '\\"') + '"]:checked');
          var v = picked ? judgement(picked.value) : null;
          if (v === null) { missing++; continue; }
          m[i][j] = v; m[j][i] = 1 / v;
        }
      }
      if (missing) {
        out.textContent = out.getAttribute("data-wait");
        out.className = "ahp-cr";
        return;
      }
      var cr = consistencyRatio(m, ri);
      var good = cr < threshold;
      out.textContent = fill(out.getAttribute(good ? "data-ok" : "data-bad"), { cr: cr.toFixed(3) });
      out.className = "ahp-cr " + (good ? "good" : "bad");
    }
    box.addEventListener("change", update);
    if (!out.textContent.trim()) { update(); }
  }

  function setupAllocation(box) {
    var total = Number(box.getAttribute("data-total"));
    var out = box.querySelector(".alloc-sum");
    var inputs = box.querySelectorAll(".alloc-input");
    function update() {
      var sum = 0, i;
      for (i = 0; i < inputs.length; i++) {
        var v = Number(inputs[i].value);
        if (inputs[i].value !== "" && isFinite(v)) { sum += v; }
      }
      var shown = Math.round(sum * 100) / 100;
      var ok = Math.abs(sum - total) < 1e-6;
      out.textContent = fill(out.getAttribute("data-template"), { sum: shown }) + " " +
        out.getAttribute(ok ? "data-ok" : "data-off");
      out.className = "alloc-sum " + (ok ? "good" : "off");
    }
    box.addEventListener("input", update);
    update();
  }

  function start() {
    var i, boxes = document.querySelectorAll("fieldset.q-ahp");
    for (i = 0; i < boxes.length; i++) { setupAhp(boxes[i]); }
    boxes = document.querySelectorAll("fieldset.q-allocation");
    for (i = 0; i < boxes.length; i++) { setupAllocation(boxes[i]); }
    var summary = document.getElementById("error-summary");
    if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
