#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTML stepper of `gmemsim render` in real browsers: headless Chromium driven over
WebDriver (chromedriver, spoken with the standard library's urllib) and headless Firefox
driven over its built-in Marionette protocol (a TCP socket, spoken with the standard
library's socket and json: Debian has no geckodriver). No pip, no npm.

For each rendered scenario: open it from file://, step through every step with the keyboard
(and back with the buttons), check per step the DOM the render promises (docs/RENDERING.md:
512 order-0 pieces after one page of a 2 MiB file goes shared, one order-9 folio after the
merge, the stage-2 leaves counted by level), that the page fetched nothing from the network
and logged no console error, and that rendering is deterministic (two renders, same bytes)
and bounded (a 1 GiB file split to 262,144 folios renders small). Both browsers run the
same checks. Screenshots come from Chromium only and go to docs/img/ (checked in): the test
says which ones changed.

usage: test-browser.py GMEMSIM SRCDIR
A browser that is missing is skipped with the reason (CHROMIUM=, CHROMEDRIVER=, FIREFOX=
point elsewhere, e.g. FIREFOX=/nonexistent hides Firefox); exit 77 (skipped) only when
neither browser is available.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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


class ChromiumDriver:
    """The few WebDriver commands the test needs, over chromedriver's HTTP API.

    The interface both drivers offer the checks: get, js, key, click, screenshot, and
    console() / requests() for what the page logged and fetched since the last call."""

    name = "chromium"

    def connect(self):
        pass  # __init__ started chromedriver and the session

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

    def console(self):
        # The browser log is read (and emptied) at each call: what the last page logged.
        return [e.get("message") for e in self.log("browser")]

    def requests(self):
        urls = set()
        for e in self.log("performance"):
            msg = json.loads(e["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.add(msg["params"]["request"]["url"].split("#")[0])
        return sorted(urls)

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


# Prefs of the fresh profile. Marionette's recommended prefs (remote.prefs.recommended)
# already keep Firefox off the network at start; these also silence the background services
# that would print to stdout (where the page's console output is read) and keep the window
# the size Chromium's is.
FIREFOX_PREFS = {
    "marionette.port": 0,  # a free port, written to <profile>/MarionetteActivePort
    "devtools.console.stdout.content": True,  # the page's console.* calls go to stdout
    # ... and the browser's own don't: Nimbus (on by policy, not by a pref) logs its failed
    # fetch of experiments through messaging-system's Logger, which always dumps.
    "devtools.console.stdout.chrome": False,
    "messaging-system.log": "off",
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "extensions.update.enabled": False,
    "app.update.disabledForTesting": True,
}


class FirefoxDriver:
    """The same commands over Firefox's Marionette protocol: `<length>:<json>` packets on a
    TCP socket, commands [0, id, name, params], answers [1, id, error, result]."""

    name = "firefox"
    SCRIPT_ERRORS = """
    const out = [];
    for (const m of Services.console.getMessageArray() || []) {
      if (m instanceof Ci.nsIScriptError && m.sourceName.startsWith('file://'))
        out.push(m.sourceName + ':' + m.lineNumber + ': ' + m.errorMessage);
    }
    Services.console.reset();
    return out;
    """

    def __init__(self, firefox, tmp):
        self.profile = os.path.join(tmp, "firefox-profile")
        os.makedirs(self.profile)
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for k, v in FIREFOX_PREFS.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        # -remote-allow-system-access: the chrome context, where the console service's
        # messages (the page's script errors and warnings) are read.
        self.proc = subprocess.Popen(
            [firefox, "--headless", "--marionette", "-remote-allow-system-access",
             "--no-remote", "--profile", self.profile, "--window-size=1000,1300"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, MOZ_CRASHREPORTER_DISABLE="1"))
        self.out = []
        self.out_cv = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.sock, self.buf, self.id, self.marks, self.lost_mark = None, b"", 0, 0, False

    def connect(self):
        """Wait for Marionette and open the session: apart from __init__, so that Firefox
        starts (a few seconds) while Chromium runs its checks."""
        portfile = os.path.join(self.profile, "MarionetteActivePort")
        for _ in range(300):
            try:
                with open(portfile) as f:
                    port = int(f.read())
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except (OSError, ValueError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        if not self.sock:
            self.quit()
            raise RuntimeError("firefox: Marionette did not start:\n" + "".join(self.out))
        hello = self.recv()
        if hello.get("applicationType") != "gecko":
            raise RuntimeError(f"firefox: not Marionette: {hello}")
        self.cmd("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {
            "pageLoadStrategy": "normal"}}})

    def _read_stdout(self):
        for line in self.proc.stdout:
            with self.out_cv:
                self.out.append(line.decode(errors="replace"))
                self.out_cv.notify_all()

    def recv(self):
        while b":" not in self.buf:
            self._more()
        n, rest = self.buf.split(b":", 1)
        self.buf = rest
        while len(self.buf) < int(n):
            self._more()
        msg, self.buf = self.buf[:int(n)], self.buf[int(n):]
        return json.loads(msg)

    def _more(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise RuntimeError("firefox: Marionette closed the connection")
        self.buf += data

    def cmd(self, name, params=None):
        self.id += 1
        data = json.dumps([0, self.id, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            kind, mid, err, result = self.recv()
            if kind == 1 and mid == self.id:
                break
        if err:
            raise RuntimeError(f"firefox: {name}: {err.get('error')}: {err.get('message')}")
        return result

    def get(self, url):
        self.cmd("WebDriver:Navigate", {"url": url})

    def js(self, script, *args):
        return self.cmd("WebDriver:ExecuteScript", {"script": script, "args": list(args)})["value"]

    def chrome_js(self, script):
        self.cmd("Marionette:SetContext", {"value": "chrome"})
        try:
            return self.js(script)
        finally:
            self.cmd("Marionette:SetContext", {"value": "content"})

    def key(self, code):
        self.cmd("WebDriver:PerformActions", {"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": code}, {"type": "keyUp", "value": code}]}]})
        self.cmd("WebDriver:ReleaseActions")

    def click(self, css):
        el = self.cmd("WebDriver:FindElement", {"using": "css selector", "value": css})["value"]
        self.cmd("WebDriver:ElementClick", {"id": list(el.values())[0]})

    def screenshot(self):
        return base64.b64decode(self.cmd("WebDriver:TakeScreenshot", {"full": False})["value"])

    def console(self):
        """The page's console.* calls (printed to stdout) and the script errors and warnings
        of file:// pages (the console service) since the last call. A marker logged from the
        page tells where its output ends: stdout comes through a pipe, late."""
        self.marks += 1
        mark = f"gmemsim-browser-test-mark-{self.marks}"
        self.js("console.log(arguments[0]); return 0;", mark)
        with self.out_cv:
            # Once a marker went missing, the next pages fail without waiting again.
            wait = 0 if self.lost_mark else 10
            if not self.out_cv.wait_for(lambda: any(mark in l for l in self.out), wait):
                self.lost_mark = True
                return [f"the marker {mark} did not reach stdout: console output is not read"]
            i = next(i for i, l in enumerate(self.out) if mark in l)
            lines, self.out = self.out[:i], self.out[i + 1:]
        # Only the console API's lines ("console.log: ..."): the rest of stdout is
        # Firefox's own diagnostics, and the script errors come from the console service.
        msgs = [l.rstrip() for l in lines if l.startswith("console.")]
        return msgs + self.chrome_js(self.SCRIPT_ERRORS)

    def requests(self):
        # Resource Timing lists every fetch of the page (Firefox names the navigation entry
        # "document", so location.href stands for the page's own request).
        return sorted(set(self.js(
            "return [location.href].concat(performance.getEntriesByType('resource')"
            ".map(e => e.name)).map(u => u.split('#')[0]);")))

    def quit(self):
        try:
            if self.sock:
                self.cmd("Marionette:Quit", {"flags": ["eForceQuit"]})
            else:
                self.proc.terminate()  # never connected (Chromium failed first)
        except (OSError, RuntimeError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.sock:
            self.sock.close()
            self.sock = None


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
        self.prefix = ""

    def expect(self, what, got, want):
        self.checks += 1
        if got != want:
            self.failures += 1
            print(f"FAIL: {self.prefix}{what}: got {got!r}, want {want!r}")


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
    for m in d.console():
        c.expect(f"{name}: console message", m, None)
    c.expect(f"{name}: requests other than the page", [u for u in d.requests()
             if not u.startswith("file://")], [])


def save_shot(d, srcdir, name, changed):
    # Chromium's only: the checked-in images are Chromium's, Firefox draws text differently.
    if changed is None:
        return
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


CANARY = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>canary</title></head>
<body><script>console.log('canary-log'); fetch('URL').catch(() => 0); canary_undefined();
</script></body></html>
"""


def canary(d, c, tmp):
    """The detectors detect: a page that logs, throws and fetches must be caught, or the
    checks "no console message, no request" would pass for want of seeing anything."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # a port nobody listens on: the fetch fails locally
        url = f"http://127.0.0.1:{s.getsockname()[1]}/canary"
    page = os.path.join(tmp, "canary.html")
    with open(page, "w") as f:
        f.write(CANARY.replace("URL", url))
    d.get("file://" + page)
    seen = set()
    for _ in range(50):  # Firefox lists the fetch once it has failed; Chromium's log empties
        seen.update(d.requests())
        if url in seen:
            break
        time.sleep(0.1)
    got = d.console()
    c.expect("canary: console.log seen", any("canary-log" in m for m in got), True)
    c.expect("canary: script error seen", any("canary_undefined" in m for m in got), True)
    c.expect("canary: request seen", url in seen, True)


def run(d, c, gmemsim, srcdir, tmp, shots):
    """Every check in one browser; shots is None where no screenshot is saved."""
    c.prefix = f"{d.name}: "
    before, t0 = c.checks, time.monotonic()
    os.makedirs(tmp)
    try:
        d.connect()
        conversion(d, c, gmemsim, srcdir, tmp, shots)
        big(d, c, gmemsim, tmp)
        workshop(d, c, srcdir, gmemsim, tmp, shots)
        canary(d, c, tmp)
    finally:
        d.quit()
    print(f"{d.name}: {c.checks - before} checks in {time.monotonic() - t0:.1f} s")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    gmemsim, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    chromium = find("CHROMIUM", ["chromium", "chromium-browser", "google-chrome"])
    chromedriver = find("CHROMEDRIVER", ["chromedriver"])
    firefox = find("FIREFOX", ["firefox-esr", "firefox"])
    ran = 0
    c = Checker()
    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        # Firefox starts first and comes up while Chromium runs: the test stays short.
        ff = FirefoxDriver(firefox, tmp) if firefox else None
        try:
            if chromium and chromedriver:
                run(ChromiumDriver(chromedriver, chromium), c, gmemsim, srcdir,
                    os.path.join(tmp, "chromium"), shots)
                ran += 1
            else:
                print("SKIP chromium: needs chromium and chromedriver (Debian: apt-get "
                      "install chromium chromium-driver; quickstart.sh test installs them)")
            if ff:
                run(ff, c, gmemsim, srcdir, os.path.join(tmp, "firefox"), None)
                ran += 1
            else:
                print("SKIP firefox: needs firefox-esr or firefox (Debian: apt-get install "
                      "firefox-esr; quickstart.sh test installs it)")
        finally:
            if ff:
                ff.quit()  # a second quit is harmless; this one is for a failed Chromium
    if not ran:
        return SKIP
    for s in shots:
        print(f"screenshot changed: docs/img/{s} (check it in)")
    print(f"{c.checks} checks, {c.failures} failed")
    return 1 if c.failures or not c.checks else 0


if __name__ == "__main__":
    sys.exit(main())
