"""Watching the wall screen from inside the page (headless Chromium): what a viewer sees every 50 ms.

Shared by tests/browser/test_screen_browser.py (which asserts on it) and bench/screen_motion.py (which reports
it). Per sample: the panels present, where the map is, the frame of the rotation shown (its project) and, for
each of the three charts (map, trend, ranking), the chart a viewer sees: a plotly plot inside the chart's panel
with a size, not hidden, its SVG layers made (and for the map its WebGL canvas). A chart with none is *blank*
in that sample; the length of each blank is recorded. A chart that a viewer sees change to a plot element that
did not exist one sample earlier was drawn in front of the viewer (*unprepared*), rather than drawn out of
sight and then shown.
"""

from __future__ import annotations

CHARTS = ("map", "trend", "rank")

WATCH_JS = """() => {
  const CHARTS = ['map', 'trend', 'rank'];
  const w = window.__wall = {samples: 0, minPanels: 99, mapTops: new Set(), frames: [], blanks: [],
                             unprepared: [], state: {}, seen: new WeakMap()};
  document.querySelector('.st-key-scr_root').__hotlineMark = 'first';
  const shown = (root, name) => {
    for (const p of root.querySelectorAll('.st-key-scr_panel_' + name + ' .js-plotly-plot')) {
      const r = p.getBoundingClientRect();
      if (r.width > 10 && r.height > 10 && getComputedStyle(p).visibility === 'visible'
          && p.querySelector('.main-svg') && (name !== 'map' || p.querySelector('canvas'))) return p;
    }
    return null;
  };
  setInterval(() => {
    const root = document.querySelector('.st-key-scr_root');
    const now = performance.now();
    const n = ++w.samples;
    if (!root) { w.minPanels = 0; return; }
    w.minPanels = Math.min(w.minPanels, root.querySelectorAll('[class*="st-key-scr_panel"]').length);
    const name = root.querySelector('[data-focus-name]')?.dataset.focusName;
    const fresh = root.querySelector('.scr-fresh')?.innerText.split('刷新于')[1];
    let f = w.frames[w.frames.length - 1];
    if (!f || f.name !== name) { f = {name, refreshes: new Set(), drawn: false}; w.frames.push(f); }
    f.refreshes.add(fresh);
    for (const p of root.querySelectorAll('.js-plotly-plot')) if (!w.seen.has(p)) w.seen.set(p, n);
    let all = true;
    for (const c of CHARTS) {
      const s = w.state[c] || (w.state[c] = {el: null, blankSince: null, frame: null});
      const p = shown(root, c);
      if (!p) { all = false; if (s.el && s.blankSince === null) { s.blankSince = now; s.frame = name; } continue; }
      if (c === 'map') w.mapTops.add(Math.round(p.getBoundingClientRect().top));
      if (s.blankSince !== null) { w.blanks.push({chart: c, ms: Math.round(now - s.blankSince), frame: s.frame}); s.blankSince = null; }
      if (s.el && p !== s.el && w.seen.get(p) === n) w.unprepared.push({chart: c, frame: name});
      s.el = p;
    }
    if (all) f.drawn = true;
  }, 50);
}"""

WATCHED_JS = """() => {
  const w = window.__wall, now = performance.now();
  const open = Object.entries(w.state).filter(([c, s]) => s.blankSince !== null)
    .map(([c, s]) => ({chart: c, ms: Math.round(now - s.blankSince), frame: s.frame, open: true}));
  return {samples: w.samples, minPanels: w.minPanels, tops: [...w.mapTops],
          same: document.querySelector('.st-key-scr_root').__hotlineMark === 'first',
          blanks: [...w.blanks, ...open], unprepared: w.unprepared,
          frames: w.frames.map(f => ({name: f.name, drawn: f.drawn, refreshes: f.refreshes.size}))};
}"""
