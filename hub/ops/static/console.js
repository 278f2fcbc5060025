// The console's only script: draws the per-minute charts and refreshes the flow view.
// Plain SVG, no library and no network beyond the hub itself.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function polyline(values, max, cls) {
    var line = document.createElementNS(SVG, "polyline");
    var step = values.length > 1 ? 300 / (values.length - 1) : 0;
    line.setAttribute("class", cls);
    line.setAttribute("points", values.map(function (v, i) {
      return (i * step).toFixed(1) + "," + (76 - (v / max) * 70).toFixed(1);
    }).join(" "));
    return line;
  }

  function draw(svg, minutes) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var accepted = minutes.map(function (m) { return m.accepted; });
    var recorded = minutes.map(function (m) { return m.recorded; });
    var max = Math.max.apply(null, accepted.concat(recorded, [1]));
    svg.appendChild(polyline(accepted, max, "accepted"));
    svg.appendChild(polyline(recorded, max, "recorded"));
  }

  function sum(minutes, key) {
    return minutes.reduce(function (total, m) { return total + m[key]; }, 0);
  }

  function render(data) {
    var section = document.getElementById("flow");
    Object.keys(data.channels).forEach(function (channel) {
      var minutes = data.channels[channel];
      var card = section.querySelector('[data-channel="' + channel + '"]');
      if (!card) { window.location.reload(); return; }
      draw(card.querySelector("svg"), minutes);
      var last = minutes[minutes.length - 1];
      card.querySelector(".accepted").textContent = last.accepted;
      card.querySelector(".recorded").textContent = last.recorded;
      card.querySelector(".rejected").textContent = last.rejected;
      card.querySelector(".accepted-total").textContent = sum(minutes, "accepted");
      card.querySelector(".recorded-total").textContent = sum(minutes, "recorded");
    });
    document.getElementById("lag-total").textContent = data.lag.total;
    var body = document.querySelector("#lag tbody");
    body.innerHTML = "";
    data.lag.partitions.forEach(function (p) {
      var row = document.createElement("tr");
      [p.topic, p.partition, p.end_offset, p.committed === null ? "—" : p.committed, p.lag].forEach(function (v) {
        var cell = document.createElement("td");
        cell.textContent = v;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    document.getElementById("flow-at").textContent = data.at;
  }

  var section = document.getElementById("flow");
  if (!section) return;
  render(JSON.parse(document.getElementById("flow-data").textContent));
  setInterval(function () {
    fetch(section.getAttribute("data-source"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(render)
      .catch(function () { /* keep the last view; the next tick tries again */ });
  }, 3000);
})();
