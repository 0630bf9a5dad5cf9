"""The wall screen's clock and watchdog: the browser asks for the next run only once it has the last one.

Why not `st.fragment(run_every=...)`: its timer is a `setInterval` in the browser that asks the server for a run
every interval whether or not the browser has taken in the last one. Each run of the wall sends every element
again (~45-100 messages). When a run and its drawing take longer than the interval (a 1 s setting, a loaded
machine, a slow wall PC drawing six plotly charts), the server's queue for that browser grows; Streamlit's
server (1.67, Starlette) drops a session whose browser has 500 messages unsent, **silently and with its
websocket left open**: the browser keeps asking, the server discards every request, and the screen freezes
half-way through a run with no error anywhere (docs/performance.md, "The stall, found"). Measured: the stall
came after 50-209 refreshes at a 1 s setting.

This clock is a custom component (`st.components.v2.component`, public API; its script is inline, nothing is
fetched) drawn as the fragment's **last** element. The browser handles a run's messages in order, so when the
clock's new data reaches the page, the whole run before it has been taken in; only then does the clock wait for
the rest of the interval and ask for the next run (a component trigger inside the fragment reruns the
fragment). At most one run is ever on its way, whatever the interval or the load.

The same script is the **watchdog**: if no new run reaches the page for `watchdog` seconds (a session dropped
by the server, a lost rerun request, anything that stops the clock), it asks the server's health endpoint and,
if the server answers, reloads the page (a new session; the sign-in is kept in the session cookie, ui/auth.py).
While the server does not answer it does not reload (a browser error page would never come back by itself);
Streamlit's own reconnection handles a server that went away, and the watchdog retries every `retry` seconds.
"""

from __future__ import annotations

import streamlit as st

NAME = "hotline_screen_clock"
KEY = "scr_clock"
MIN_WAIT_MS = 250   # between the page taking a run in and asking for the next (a run slower than the interval)

# One clock per page: its timers live on the component's host element; a run whose data reaches the page
# restarts both (Streamlit calls the function again when its data changes; the returned cleanup runs when the
# element leaves the page).
JS = r"""
export default function ({ data, parentElement, setTriggerValue }) {
  const s = parentElement.__hotlineClock || (parentElement.__hotlineClock = {});
  if (s.run === data.run) return () => { clearTimeout(s.next); clearTimeout(s.watch); };
  s.run = data.run;
  clearTimeout(s.next);
  clearTimeout(s.watch);
  s.next = setTimeout(() => setTriggerValue("tick", data.run), data.next_ms);
  const health = new URL(data.health, document.baseURI).href;
  const retry = () => { s.watch = setTimeout(check, data.retry_ms); };
  const check = () => fetch(health, { cache: "no-store" })
    .then((r) => (r.ok ? window.location.reload() : retry()), retry);
  s.watch = setTimeout(check, data.watchdog_ms);
  return () => { clearTimeout(s.next); clearTimeout(s.watch); };
}
"""

_clock = st.components.v2.component(NAME, html="", js=JS)


def watchdog_seconds(tick: float, floor: float) -> float:
    """How long the page waits for a new run before it reloads: `floor` (a setting), and never less than five
    intervals, so a slow first frame of a new import is not taken for a stopped screen."""
    return max(float(floor), 5.0 * tick)


def clock(run: int, next_s: float, watchdog_s: float, retry_s: float = 10.0) -> None:
    """Draw the clock: ask for the next run `next_s` seconds after this one reached the page; reload the page
    if no run came for `watchdog_s` seconds and the server answers. `run` must change at every run."""
    _clock(key=KEY, data={"run": int(run), "next_ms": max(MIN_WAIT_MS, round(next_s * 1000)),
                          "watchdog_ms": round(watchdog_s * 1000), "retry_ms": round(retry_s * 1000),
                          "health": "_stcore/health"},
           height=0, on_tick_change=lambda: None)
