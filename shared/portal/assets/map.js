// The overview's map (/portal/stations): one marker per station whose site has coordinates, drawn from the stations'
// table below it (each such row carries data-lat, data-lon, data-state, data-title and data-href), so the table is the
// map's data and its accessible equivalent, and the markers follow the table each time htmx refreshes it. A marker is
// a link to the station's page, coloured like the status badges and named in words; it is drawn on Leaflet's marker
// pane whether or not the tiles load. Stations of one site share its point: they are spread on a small circle
// around it so that each can be reached.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) {
    return;
  }
  var map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.getAttribute("data-tiles"), {
    maxZoom: 19,
    attribution: el.getAttribute("data-attribution"),
    // The tile server asks for a referrer; the portal's own pages send none elsewhere.
    referrerPolicy: "strict-origin-when-cross-origin",
  }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  var markers = L.layerGroup().addTo(map);
  var fitted = false;

  function draw() {
    markers.clearLayers();
    var bySite = {};
    document.querySelectorAll("#live tr[data-lat]").forEach(function (row) {
      var key = row.getAttribute("data-lat") + "," + row.getAttribute("data-lon");
      (bySite[key] = bySite[key] || []).push(row);
    });
    var points = [];
    Object.keys(bySite).forEach(function (key) {
      var rows = bySite[key];
      rows.forEach(function (row, i) {
        var lat = parseFloat(row.getAttribute("data-lat"));
        var lon = parseFloat(row.getAttribute("data-lon"));
        if (rows.length > 1) {
          // About twenty metres from the site's point (a degree of longitude is shorter in the north).
          var angle = (2 * Math.PI * i) / rows.length;
          lat += 0.00018 * Math.cos(angle);
          lon += (0.00018 / Math.max(Math.cos((lat * Math.PI) / 180), 0.2)) * Math.sin(angle);
        }
        var link = document.createElement("a");
        link.href = row.getAttribute("data-href");
        link.className = "map-pin " + row.getAttribute("data-state");
        link.title = row.getAttribute("data-title");
        link.setAttribute("aria-label", row.getAttribute("data-title"));
        link.setAttribute("data-station", row.getAttribute("data-station"));
        var icon = L.divIcon({ className: "map-marker", html: link, iconSize: [22, 22], iconAnchor: [11, 11] });
        // Not interactive for Leaflet: the link itself takes the click and the keyboard.
        L.marker([lat, lon], { icon: icon, interactive: false, keyboard: false }).addTo(markers);
        points.push([lat, lon]);
      });
    });
    if (!fitted && points.length) {
      map.fitBounds(points, { padding: [30, 30], maxZoom: 16 });
      fitted = true;
    }
  }

  draw();
  // The table is the page's only part htmx swaps.
  document.body.addEventListener("htmx:afterSettle", draw);
})();
