#!/usr/bin/env python3
"""Renders a page in headless Chromium and checks it like a first-time visitor would.

    scripts/render-page.py URL OUT.png [--wait SECONDS] [--width W] [--height H]
                           [--full-page] [--expect TEXT]... [--absent TEXT]...
                           [--eval JS] [--allow-status CODE]... [--print-pdf OUT.pdf]

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: no port,
no websocket library). Writes OUT.png and prints one JSON object: the console errors,
uncaught exceptions, failed requests (network errors and 4xx/5xx answers), the visible
text's length and the texts looked for. Exits 1 when the page is blank, logged an error,
threw, had a request fail, lacks an --expect text or shows an --absent one; 2 when Chromium cannot be run.
Chromium: $CHROMIUM, else chromium, chromium-browser or google-chrome on PATH.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def find_chromium():
    for name in [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class DevTools:
    def __init__(self, binary, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        def child_fds():
            # Through copies: a pipe that is already fd 3 or 4 would keep its close-on-exec flag.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [
                binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--hide-scrollbars", "--mute-audio", "--user-data-dir=" + profile, "about:blank",
            ],
            # (close_fds would close 3 and 4 after preexec_fn has put the pipes there.)
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=None if os.environ.get("RENDER_DEBUG") else subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.next_id = 0
        self.replies = {}
        self.events = []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                with self.lock:
                    self.lock.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self.lock:
                    if "id" in message:
                        self.replies[message["id"]] = message
                    else:
                        self.events.append(message)
                    self.lock.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        with self.lock:
            while ident not in self.replies:
                left = deadline - time.time()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError("no answer to " + method)
                self.lock.wait(left)
            reply = self.replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(method + ": " + reply["error"].get("message", str(reply["error"])))
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument(
        "--wait", type=float, default=3,
        help="seconds to let the page work (default 3); with --expect or --absent, at most that long: "
             "done as soon as the page shows what is expected",
    )
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the window")
    parser.add_argument("--expect", action="append", default=[], help="text the page must show (repeatable)")
    parser.add_argument("--absent", action="append", default=[], help="text the page must not show (repeatable)")
    parser.add_argument("--eval", dest="script", help="JavaScript to run after --wait (then --wait again)")
    parser.add_argument(
        "--allow-status", type=int, action="append", default=[],
        help="an HTTP status that is not a failure here (repeatable; e.g. 401 before a token is given)",
    )
    parser.add_argument("--print-pdf", help="also print the page to this PDF (as a browser prints it)")
    args = parser.parse_args()

    binary = find_chromium()
    if not binary:
        print("render-page: no Chromium found (apt-get install chromium, or set CHROMIUM)", file=sys.stderr)
        return 2
    profile = tempfile.mkdtemp(prefix="render-page-")
    tools = DevTools(binary, profile)
    problems = {"consoleErrors": [], "exceptions": [], "failedRequests": []}
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ["Runtime.enable", "Log.enable", "Network.enable", "Page.enable"]:
            tools.send(method, session=session)
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        tools.send("Page.navigate", {"url": args.url}, session=session)

        def read_page():
            state = tools.send(
                "Runtime.evaluate",
                {
                    "expression": "JSON.stringify({title: document.title, text: document.body ? document.body.innerText : ''})",
                    "returnByValue": True,
                },
                session=session,
            )
            return json.loads(state["result"]["value"])

        def settle(seconds, final):
            # Up to SECONDS: done early (after 1 s, so that errors have time to show) once
            # the page shows what the checks look for (a loaded machine is slow); before an
            # --eval, once it shows anything.
            started = time.time()
            while True:
                page = read_page()
                if final:
                    ready = (args.expect or args.absent) and all(t in page["text"] for t in args.expect) \
                        and not any(t in page["text"] for t in args.absent)
                else:
                    ready = len(page["text"].strip()) >= 20
                elapsed = time.time() - started
                if (ready and elapsed >= min(1, seconds)) or elapsed >= seconds:
                    return page
                time.sleep(0.25)

        page = settle(args.wait, final=not args.script)
        if args.script:
            tools.send("Runtime.evaluate", {"expression": args.script}, session=session)
            page = settle(max(2, args.wait), final=True)
        clip = None
        if args.full_page:
            metrics = tools.send("Page.getLayoutMetrics", session=session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": args.width, "height": min(size["height"], 20000), "scale": 1}
        params = {"format": "png", "captureBeyondViewport": bool(clip)}
        if clip:
            params["clip"] = clip
        shot = tools.send("Page.captureScreenshot", params, session=session)
        with open(args.out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        if args.print_pdf:
            pdf = tools.send("Page.printToPDF", {"printBackground": False}, session=session)
            with open(args.print_pdf, "wb") as f:
                f.write(base64.b64decode(pdf["data"]))
        with tools.lock:
            events = list(tools.events)
    except Exception as error:
        print(json.dumps({"error": str(error)}))
        return 2
    finally:
        tools.close()
        shutil.rmtree(profile, ignore_errors=True)

    requests = {}
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems["consoleErrors"].append(text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            problems["exceptions"].append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            allowed = any(f"status of {status} " in entry.get("text", "") for status in args.allow_status)
            if not allowed:
                problems["consoleErrors"].append(entry.get("text", "") + " " + entry.get("url", ""))
        elif method == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = requests.get(params["requestId"], "?")
            problems["failedRequests"].append(f"{url}: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400 \
                and params["response"]["status"] not in args.allow_status:
            problems["failedRequests"].append(f"{params['response']['url']}: HTTP {params['response']['status']}")
    text = page["text"].strip()
    missing = [t for t in args.expect if t not in page["text"]]
    present = [t for t in args.absent if t in page["text"]]
    report = dict(problems, title=page["title"], textLength=len(text), missing=missing, present=present, png=args.out)
    print(json.dumps(report, indent=2))
    failed = any(problems.values()) or len(text) < 20 or missing or present
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
