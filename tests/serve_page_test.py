#!/usr/bin/python3
"""The operator's page of aosrun serve, in real headless Chromium (Debian's
chromium and chromium-driver, driven with python3-selenium): log in with the
serve token, see the waiting approval with its payload as a table, approve
it, see the run completed with its timeline. Screenshots are kept in the
working directory (the build directory under CTest): serve_page_inbox.png,
serve_page_run.png. Also: a form without the session's CSRF token is
refused, and the page needs a session.

Usage: /usr/bin/python3 serve_page_test.py PATH/TO/aosrun
"""
import http.cookiejar
import json
import re
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

AOSRUN = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "standin"))
from harness import Checks  # noqa: E402
OUT = os.getcwd()
TMP = tempfile.mkdtemp(prefix="aos_page_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
ENV["NO_PROXY"] = ENV["no_proxy"] = "127.0.0.1,localhost"

CHECKS = Checks()
check = CHECKS.check


WF = os.path.join(TMP, "w.aos")
with open(WF, "w") as f:
    f.write('type Terms { days: int  note: string = "" }\n'
            'workflow invoice() {\n'
            '  approval send { ask "Send these invoices?" '
            'show {client: "Analytical Engines Ltd", lines: [{item: "Design", hours: 12}, {item: "Review", hours: 3}]} '
            'returns Terms timeout 48h }\n  output {approved: send.approved, days: send.data.days}\n}\n'
            'workflow vetted() {\n  approval pay { ask "Pay the supplier?" approvers ["ada", "bob"] }\n'
            '  output pay.by\n}\n')
DATA = os.path.join(TMP, "data")
serve = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", DATA, "--listen", "127.0.0.1:0"], cwd=TMP, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
driver = None
try:
    info = os.path.join(DATA, "serve.json")
    deadline = time.monotonic() + 20
    while not os.path.exists(info) and time.monotonic() < deadline:
        time.sleep(0.02)
    url = json.load(open(info))["address"]
    token = open(os.path.join(DATA, "serve.token")).read().strip()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url + "/api/runs", data=json.dumps({"workflow": "invoice", "run_id": "inv-1"}).encode(),
                                 method="POST", headers={"Authorization": "Bearer " + token})
    check("a run waits at its approval", json.load(opener.open(req, timeout=30))["status"] == "waiting")

    # Without a session the page sends you to log in; a form without the
    # session's CSRF token is refused even with a session.
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    jar = http.cookiejar.CookieJar()
    raw = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar),
                                      NoRedirect())
    try:
        raw.open(url + "/", timeout=30)
        code = 200
    except urllib.error.HTTPError as e:
        code, where = e.code, e.headers.get("Location")
    check("the page needs a session (303 to /login)", code == 303 and where == "/login", code)
    try:
        raw.open(urllib.request.Request(url + "/login", data=urllib.parse.urlencode({"token": token}).encode()), timeout=30)
        code = 200
    except urllib.error.HTTPError as e:
        code = e.code
    check("a login posted without the login form's token is refused (403)", code == 403, code)
    form = raw.open(url + "/login", timeout=30).read().decode()
    login_csrf = re.search(r'name=csrf value="([0-9a-f]+)"', form)
    try:
        raw.open(urllib.request.Request(url + "/login", data=urllib.parse.urlencode(
            {"token": token, "csrf": login_csrf.group(1) if login_csrf else ""}).encode()), timeout=30)
    except urllib.error.HTTPError as e:
        check("logging in sets an HttpOnly, SameSite=Strict cookie", e.code == 303
              and "HttpOnly" in e.headers.get("Set-Cookie", "") and "SameSite=Strict" in e.headers.get("Set-Cookie", ""),
              e.headers.get("Set-Cookie"))
    try:
        raw.open(urllib.request.Request(url + "/decide", data=urllib.parse.urlencode(
            {"run": "inv-1", "name": "send", "decision": "approve", "csrf": "forged"}).encode()), timeout=30)
        code = 200
    except urllib.error.HTTPError as e:
        code = e.code
    check("a form with a forged CSRF token is refused (403)", code == 403, code)

    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=412,915",
              "--no-proxy-server"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(30)
    driver.get(url + "/")
    check("the page starts at the login form", "/login" in driver.current_url, driver.current_url)
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()
    try:
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".approval"))
    except Exception:
        pass
    cards = driver.find_elements(By.CSS_SELECTOR, ".approval")
    check("after logging in, the inbox shows the approval", len(cards) == 1
          and "Send these invoices?" in cards[0].text, driver.page_source[:500])
    text = cards[0].text if cards else ""
    check("its payload is readable: a table with the lines, not JSON", "Analytical Engines Ltd" in text
          and "Design" in text and "Review" in text and "{" not in text, text)
    check("the page fits a phone: no horizontal scroll",
          driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))
    fields = driver.find_elements(By.ID, "field_days")
    check("the approval's returns fields are a form", fields, driver.page_source[:300])
    if fields:
        fields[0].send_keys("30")
    driver.save_screenshot(os.path.join(OUT, "serve_page_inbox.png"))
    driver.find_element(By.CSS_SELECTOR, "button.approve").click()
    try:
        WebDriverWait(driver, 20).until(lambda d: "/runs/" in d.current_url)
    except Exception:
        pass
    check("approving leads to the run's page", "/runs/inv-1" in driver.current_url, driver.current_url)
    status = driver.find_element(By.ID, "status").text if "/runs/" in driver.current_url else ""
    check("the run is completed", status == "completed", status)
    check("its timeline lists the approval, decided", "approved by" in driver.page_source, driver.page_source[:300])
    check("the form's value reached the run as a typed returns field", ">30<" in driver.page_source
          and "days" in driver.page_source, driver.page_source[-800:])
    driver.save_screenshot(os.path.join(OUT, "serve_page_run.png"))
    driver.get(url + "/")
    try:
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "empty"))
    except Exception:
        pass
    check("the inbox is empty again", driver.find_elements(By.ID, "empty"))

    # An approval that names its approvers: the page decides as one of them.
    req = urllib.request.Request(url + "/api/runs", data=json.dumps({"workflow": "vetted", "run_id": "v-1"}).encode(),
                                 method="POST", headers={"Authorization": "Bearer " + token})
    opener.open(req, timeout=30)
    driver.get(url + "/")
    try:
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".approval"))
    except Exception:
        pass
    cards = driver.find_elements(By.CSS_SELECTOR, ".approval")
    text = cards[0].text if cards else ""
    check("the card says how long it has waited and who may decide", "waiting for" in text and "ada" in text, text)
    selects = driver.find_elements(By.CSS_SELECTOR, "select.as")
    check("deciding as one of the approvers is a choice", selects, driver.page_source[:300])
    if selects:
        Select(selects[0]).select_by_visible_text("bob")
        driver.find_element(By.CSS_SELECTOR, "button.approve").click()
        try:
            WebDriverWait(driver, 20).until(lambda d: "/runs/" in d.current_url)
        except Exception:
            pass
    status = driver.find_element(By.ID, "status").text if "/runs/" in driver.current_url else ""
    check("... and bob's approval completes the run", status == "completed" and "approved by bob" in driver.page_source,
          (status, driver.page_source[-600:]))
finally:
    if driver:
        driver.quit()
    serve.send_signal(signal.SIGTERM)
    try:
        serve.wait(timeout=30)
    except subprocess.TimeoutExpired:
        serve.kill()

CHECKS.finish(TMP)
