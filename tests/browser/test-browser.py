#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTML stepper of `gmemsim render` in a real browser: headless Chromium driven over
WebDriver (chromedriver, spoken with the standard library's urllib: no pip, no npm).

For each rendered scenario: open it from file://, step through every step with the keyboard
(and back with the buttons), check per step the DOM the render promises (docs/RENDERING.md:
512 order-0 pieces after one page of a 2 MiB file goes shared, one order-9 folio after the
merge, the stage-2 leaves counted by level), that the page fetched nothing from the network
and logged no console error, and that rendering is deterministic (two renders, same bytes)
and bounded (a 1 GiB file split to 262,144 folios renders small). Screenshots go to
docs/img/ (checked in): the test says which ones changed.

usage: test-browser.py GMEMSIM SRCDIR
Exit 77 (skipped) when chromium or chromedriver is missing.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77


def find(env, names):
    if os.environ.get(env):
        return os.environ[env] if os.access(os.environ[env], os.X_OK) else None
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


class Driver:
    """The few WebDriver commands the test needs."""

    def __init__(self, chromedriver, chromium):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            self.quit()
            raise RuntimeError("chromedriver did not start")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1000,1300",
                         "--hide-scrollbars", "--force-device-scale-factor=1",
                         "--font-render-hinting=none", "--disable-extensions",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync"],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["value"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def get(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def key(self, code):
        self.s("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": code}, {"type": "keyUp", "value": code}]}]})

    def click(self, css):
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        self.s("POST", f"/element/{list(el.values())[0]}/click", {})

    def log(self, kind):
        return self.s("POST", "/se/log", {"type": kind})

    def screenshot(self):
        return base64.b64decode(self.s("GET", "/screenshot"))

    def quit(self):
        try:
            if getattr(self, "sid", None):
                self.s("DELETE", "")
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# What the visible step shows: counts a check compares, read from the DOM.
STEP_JS = """
const sec = document.querySelector('section.step:not([hidden])');
const shown = document.querySelectorAll('section.step:not([hidden])').length;
const sum = (sel) => Array.from(sec.querySelectorAll(sel))
    .reduce((a, e) => a + parseInt(e.getAttribute('data-count'), 10), 0);
return {
  shown: shown,
  step: parseInt(sec.getAttribute('data-step'), 10),
  current: document.body.getAttribute('data-current'),
  pos: document.getElementById('pos').textContent,
  verb: sec.querySelector('pre.verb').textContent,
  rects0: sec.querySelectorAll('svg.folios rect.folio[data-order="0"]').length,
  order0: sum('svg.folios rect.folio[data-order="0"]'),
  order9: sum('svg.folios rect.folio[data-order="9"]'),
  shared: sum('svg.folios rect.folio[data-attr="shared"]'),
  changed: sec.querySelectorAll('svg.folios rect.changed').length,
  hvo: sec.querySelectorAll('svg.folios rect.folio[data-hvo="1"][data-vmemmap="4096"]').length,
  xa: sec.querySelectorAll('svg.xarray g.xa-node').length,
  mt_private: sec.querySelectorAll('svg.maple rect.mt-range[data-attr="private"]').length,
  mt_shared: sec.querySelectorAll('svg.maple rect.mt-range[data-attr="shared"]').length,
  s2_4k: sum('svg.stage2 rect.s2-leaf[data-level="4K"]'),
  s2_2m: sum('svg.stage2 rect.s2-leaf[data-level="2M"]'),
  pools: sec.querySelectorAll('table.pools tr.pool').length,
};
"""


class Checker:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def expect(self, what, got, want):
        self.checks += 1
        if got != want:
            self.failures += 1
            print(f"FAIL: {what}: got {got!r}, want {want!r}")


def render(gmemsim, gms, out, cwd=None):
    r = subprocess.run([gmemsim, "render", gms, "-o", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, cwd=cwd)
    if r.returncode:
        print(r.stdout, r.stderr)
        raise RuntimeError(f"gmemsim render {gms}: exit {r.returncode}")
    with open(out, "rb") as f:
        return f.read()


def no_network_no_errors(d, c, name):
    """Every request the page made was for its own file; nothing went to the console."""
    for e in d.log("browser"):
        c.expect(f"{name}: console message", e.get("message"), None)
    urls = set()
    for e in d.log("performance"):
        msg = json.loads(e["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.add(msg["params"]["request"]["url"].split("#")[0])
    c.expect(f"{name}: requests other than the page", sorted(u for u in urls
             if not u.startswith("file://")), [])


def save_shot(d, srcdir, name, changed):
    png = d.screenshot()
    path = os.path.join(srcdir, "docs", "img", name)
    old = open(path, "rb").read() if os.path.exists(path) else None
    if old != png:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        changed.append(name)


def conversion(d, c, gmemsim, srcdir, tmp, shots):
    # Relative to the source tree: the page shows the path, and screenshots must not
    # depend on where the tree is.
    gms = os.path.join("examples", "render-conversion.gms")
    html = os.path.join(tmp, "render-conversion.html")
    first = render(gmemsim, gms, html, srcdir)
    c.expect("same input, same bytes", render(gmemsim, gms, html + ".2", srcdir) == first, True)
    for banned in (b"http://", b"https://", b"<link", b"src=", b"@import", b"url("):
        c.expect(f"self-contained: no {banned!r}", banned in first, False)
    d.get("file://" + html)
    d.js("document.body.classList.add('still'); return 0;")
    n = d.js("return document.querySelectorAll('section.step').length;")
    c.expect("steps in the page", n > 10, True)
    seen = {}
    for k in range(n):
        st = d.js(STEP_JS)
        c.expect(f"step {k}: one step shown", st["shown"], 1)
        c.expect(f"step {k}: the step shown", st["step"], k)
        c.expect(f"step {k}: position", st["pos"], f"{k + 1} / {n}")
        c.expect(f"step {k}: pools drawn", st["pools"], 2)
        v = st["verb"]
        if v.startswith("falloc"):
            c.expect("after falloc: one order-9 folio", st["order9"], 1)
            c.expect("after falloc: no order-0 piece", st["order0"], 0)
            c.expect("after falloc: the new folio is marked", st["changed"], 1)
            c.expect("after falloc: one XArray node", st["xa"], 1)
            c.expect("after falloc: HVO keeps one vmemmap page", st["hvo"], 1)
            save_shot(d, srcdir, "render-falloc.png", shots)
        elif v.startswith("gfault") and "gfault1" not in seen:
            seen["gfault1"] = True
            c.expect("after the first fault: one 2M leaf", st["s2_2m"], 1)
        elif "to=shared" in v:
            c.expect("to shared: 512 order-0 pieces", st["order0"], 512)
            c.expect("to shared: a rect per piece", st["rects0"], 512)
            c.expect("to shared: one shared piece", st["shared"], 1)
            c.expect("to shared: no order-9 folio", st["order9"], 0)
            c.expect("to shared: HVO undone for the split", st["hvo"], 0)
            c.expect("to shared: every piece is new", st["changed"], 512)
            c.expect("to shared: XArray root and 8 leaves", st["xa"], 9)
            c.expect("to shared: maple ranges", (st["mt_private"], st["mt_shared"]), (2, 1))
            save_shot(d, srcdir, "render-split.png", shots)
        elif v.startswith("stage2") and "s2" not in seen:
            seen["s2"] = True
            c.expect("stage-2 after the split: 511 4K leaves", st["s2_4k"], 511)
            c.expect("stage-2 after the split: no 2M leaf", st["s2_2m"], 0)
        elif "to=private" in v:
            c.expect("to private: merged into one order-9 folio", st["order9"], 1)
            c.expect("to private: no order-0 piece", st["order0"], 0)
            c.expect("to private: HVO again after the merge", st["hvo"], 1)
            c.expect("to private: one XArray node again", st["xa"], 1)
            c.expect("to private: one private range", (st["mt_private"], st["mt_shared"]), (1, 0))
            save_shot(d, srcdir, "render-merge.png", shots)
        if k + 1 < n:
            d.key("\ue014")  # ArrowRight
    c.expect("steps with checks seen", sorted(seen), ["gfault1", "s2"])
    d.key("\ue014")
    c.expect("ArrowRight at the end stays", d.js(STEP_JS)["step"], n - 1)
    d.key("\ue012")  # ArrowLeft
    c.expect("ArrowLeft steps back", d.js(STEP_JS)["step"], n - 2)
    d.click("#first")
    c.expect("the first button", d.js(STEP_JS)["step"], 0)
    d.click("#next")
    d.click("#next")
    c.expect("the next button", d.js(STEP_JS)["step"], 2)
    d.click("#prev")
    c.expect("the prev button", d.js(STEP_JS)["step"], 1)
    d.click("#last")
    c.expect("the last button", d.js(STEP_JS)["step"], n - 1)
    d.js("document.querySelector('.tl-point[data-step=\"3\"]')"
         ".dispatchEvent(new MouseEvent('click')); return 0;")
    c.expect("a click on the timeline", d.js(STEP_JS)["step"], 3)
    d.get("file://" + html + "#step=5")
    c.expect("#step=5 opens step 5", d.js(STEP_JS)["step"], 5)
    no_network_no_errors(d, c, "render-conversion")


BIG = """# a 1 GiB file split by one page: the render stays small
hugetlb pool size=1G nr=1
vm s type=sw_protected
gmem g vm=s size=1G flags=mmap|hugetlb page=1G
falloc g off=0 len=1G
convert g off=4K len=4K to=shared => 0
convert g off=4K len=4K to=private => 0
"""


def big(d, c, gmemsim, tmp):
    gms = os.path.join(tmp, "big.gms")
    with open(gms, "w") as f:
        f.write(BIG)
    html = os.path.join(tmp, "big.html")
    size = len(render(gmemsim, gms, html))
    c.expect(f"1 GiB render is small ({size} bytes)", size < 400_000, True)
    d.get("file://" + html)
    d.js("document.body.classList.add('still'); return 0;")
    for _ in range(4):
        d.key("\ue014")
    st = d.js(STEP_JS)
    c.expect("1 GiB to shared: the step", st["verb"].split()[0:5:4], ["convert", "to=shared"])
    c.expect("1 GiB to shared: 262,144 order-0 pieces", st["order0"], 262144)
    c.expect("1 GiB to shared: drawn as runs", st["rects0"] < 64, True)
    c.expect("1 GiB to shared: one shared piece", st["shared"], 1)
    d.key("\ue014")
    st = d.js(STEP_JS)
    c.expect("1 GiB to private: no order-0 piece", st["order0"], 0)
    no_network_no_errors(d, c, "big")


def workshop(d, c, srcdir, gmemsim, tmp, shots):
    """docs/WORKSHOP.md's recipe renders every lab up to its question; each page works."""
    out = os.path.join(tmp, "workshop")
    r = subprocess.run([os.path.join("examples", "workshop", "render-all.sh"), gmemsim, out],
                       cwd=srcdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    c.expect("render-all.sh exit status", (r.returncode, r.stderr), (0, ""))
    pages = r.stdout.split()
    labs = sorted(f for f in os.listdir(os.path.join(srcdir, "examples", "workshop"))
                  if f.startswith("lab") and f.endswith(".gms"))
    c.expect("a page per lab", len(pages), len(labs))
    for page in pages:
        name = os.path.basename(page)
        d.get("file://" + page)
        d.js("document.body.classList.add('still'); return 0;")
        n = d.js("return document.querySelectorAll('section.step').length;")
        c.expect(f"{name}: has steps", n > 0, True)
        c.expect(f"{name}: shows its question", d.js(
            "return document.body.textContent.includes('QUESTION');"), True)
        d.click("#last")
        c.expect(f"{name}: the last button", d.js(STEP_JS)["step"], n - 1)
        if name.startswith("lab06"):
            save_shot(d, srcdir, "workshop-lab06.png", shots)
        no_network_no_errors(d, c, name)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    gmemsim, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    chromium = find("CHROMIUM", ["chromium", "chromium-browser", "google-chrome"])
    chromedriver = find("CHROMEDRIVER", ["chromedriver"])
    if not chromium or not chromedriver:
        print("SKIP: needs chromium and chromedriver (Debian: apt-get install chromium "
              "chromium-driver; quickstart.sh test installs them)")
        return SKIP
    c = Checker()
    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Driver(chromedriver, chromium)
        try:
            conversion(d, c, gmemsim, srcdir, tmp, shots)
            big(d, c, gmemsim, tmp)
            workshop(d, c, srcdir, gmemsim, tmp, shots)
        finally:
            d.quit()
    for s in shots:
        print(f"screenshot changed: docs/img/{s} (check it in)")
    print(f"{c.checks} checks, {c.failures} failed")
    return 1 if c.failures or not c.checks else 0


if __name__ == "__main__":
    sys.exit(main())
