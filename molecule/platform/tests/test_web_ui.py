"""The web UIs a user opens, in a real browser: Debian's headless Chromium driven by Selenium.

Each check opens a page as a user would (from the controller, by the host's
address on the scenario's Docker network), waits for what the user came for
(element or text present, with a timeout) and fails at once on an error page.
A screenshot of every page is kept in .build/artifacts/web-ui/ (ignored by git).
Chromium and its WebDriver come from Debian (tools/lib.sh ensure_browser); the
driver's path is given, so Selenium Manager downloads nothing.
"""

import json
import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or Path(__file__).resolve().parents[3])
ARTIFACTS = ROOT / ".build" / "artifacts" / "web-ui"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
NETWORK = "mlops-e2e"
MONITORING = "e2e-monitoring-1"
SERVER = "e2e-server-1"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 60
# Texts that only an error page shows, on any of the UIs.
ERROR_TEXTS = (
    "Error opening React index.html",  # Prometheus built without its web UI
    "404 page not found",
    "Not Authorized",
    "ACL not found",
    "Permission denied",
)


def token(path):
    return (SECRETS / path).read_text().strip()


def log_in(driver, service, port):
    """Prometheus and the Pushgateway ask for their user and password (basic auth). A user types them into the
    browser's prompt once; here they go in the URL of a first page, and the browser keeps them for the origin and
    sends them with every later page and the pages' own requests (a page opened with credentials in its URL
    could not make those: fetch() refuses URLs that carry credentials)."""
    driver.get(f"https://mlops:{token(f'monitoring/{service}.password')}@{address(MONITORING)}:{port}/-/ready")


def address(container):
    """The container host's address on the scenario's network (the controller reaches it there)."""
    fmt = f'{{{{with index .NetworkSettings.Networks "{NETWORK}"}}}}{{{{.IPAddress}}}}{{{{end}}}}'
    ip = subprocess.run(["docker", "inspect", "-f", fmt, container], capture_output=True, text=True, check=True)
    assert ip.stdout.strip(), f"{container} has no address on the Docker network {NETWORK}"
    return ip.stdout.strip()


class PageError(Exception):
    pass


@pytest.fixture(scope="module")
def browser(request):
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).is_file(), (
            f"{path} is missing: ./tools/test setup installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container-like sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1200",  # tall enough for Prometheus' graph and its legend
        # The cluster's own CAs sign the Nomad, Consul, Prometheus and
        # Pushgateway certificates, for names the controller does not use
        # here (it reaches hosts by address).
        "--ignore-certificate-errors",
        # Nothing but the pages under test: no calls home on a closed network.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    yield driver
    driver.quit()
    # Shown even when pytest captures the tests' output (as capsys.disabled() does).
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nweb UI screenshots: {ARTIFACTS}")


def body_text(driver):
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (NoSuchElementException, StaleElementReferenceException, WebDriverException):
        return ""


def visit(driver, name, url, ready, errors=()):
    """Open url and wait until ready(driver) is truthy; fail on an error page or an empty one.

    Returns what ready returned. The screenshot is kept either way.
    """
    shot = ARTIFACTS / f"{name}.png"

    def check(d):
        if d.find_elements(By.CSS_SELECTOR, "body.neterror, #main-frame-error"):
            raise PageError(f"the browser shows its own error page: {body_text(d)[:300]!r}")
        text = body_text(d)
        for marker in (*ERROR_TEXTS, *errors):
            if marker in text:
                raise PageError(f"the page says {marker!r}")
        return ready(d)

    try:
        driver.get(url)
        return WebDriverWait(
            driver, TIMEOUT, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)
        ).until(check)
    except PageError as exc:
        pytest.fail(f"{name}: {url}: {exc} (screenshot {shot})")
    except TimeoutException:
        text = body_text(driver).strip()
        what = f"page text: {text[:500]!r}" if text else "the page is empty"
        pytest.fail(f"{name}: {url}: what the user came for did not show within {TIMEOUT}s; {what} (screenshot {shot})")
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        print(f"{name}: screenshot {shot}")


# Pixels of the chart's canvas in a series colour (grid and axes are grey): the
# lines are drawn, not only the legend.
COLOURED_PIXELS = """
const canvas = document.querySelector('.uplot canvas');
if (!canvas || !canvas.width || !canvas.height) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let count = 0;
for (let i = 0; i < data.length; i += 4) {
  const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
  if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 80) count++;
}
return count;
"""


def texts(driver, css):
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, css)]


def test_prometheus_graphs_the_training_accuracy(browser):
    """The query page's graph tab draws mlops_training_accuracy (one series per epoch)."""
    query = urllib.parse.urlencode(
        {"g0.expr": 'mlops_training_accuracy{job="training"}', "g0.tab": "graph", "g0.range_input": "1h"}
    )

    def graph(d):
        series = [t for t in texts(d, ".uplot .u-legend tr.u-series") if "mlops_training_accuracy" in t]
        return series if series and d.execute_script(COLOURED_PIXELS) >= 20 else None

    log_in(browser, "prometheus", 9090)
    series = visit(
        browser,
        "prometheus-query",
        f"https://{address(MONITORING)}:9090/query?{query}",
        graph,
        errors=("Error executing query", "Empty query result"),
    )
    assert any('job="training"' in s for s in series), series


def test_the_pushgateway_shows_the_training_group(browser):
    def group(d):
        headers = texts(d, "#job-accordion .card-header")
        return [h for h in headers if 'job="training"' in h]

    log_in(browser, "pushgateway", 9091)
    groups = visit(browser, "pushgateway", f"https://{address(MONITORING)}:9091/", group)
    assert any('model="digits-sgd"' in g for g in groups), groups


def test_the_nomad_ui_lists_the_training_job_with_the_workloads_token(browser):
    base = f"https://{address(SERVER)}:4646/ui"
    # The UI keeps the token in localStorage (ui/app/services/token.js): set it
    # on the UI's origin, from an API page where no UI code runs (the UI's own
    # start-up may rewrite the key), then open the jobs page with that token.
    browser.get(f"https://{address(SERVER)}:4646/v1/status/leader")
    browser.execute_script(
        "window.localStorage.setItem('nomadTokenSecret', arguments[0])", token("nomad/global/ml-workload.token")
    )

    def job(d):
        # The jobs table links each job to its page (release builds carry no
        # data-test attributes).
        return [t for t in texts(d, 'table tr a[href^="/ui/jobs/ml-train@"]') if t.strip() == "ml-train"]

    rows = visit(browser, "nomad-jobs", f"{base}/jobs", job, errors=("No Cluster Leader", "Token Exchange Error"))
    assert rows == ["ml-train"], rows


def test_the_consul_ui_shows_the_stacks_services(browser):
    """Consul serves its UI on every agent's HTTPS port (consul_ui); checked on a server."""
    base = f"https://{address(SERVER)}:8501/ui"
    # The UI keeps its token in localStorage as JSON under consul:token
    # (ui/packages/consul-ui/app/services/settings.js).
    browser.get(f"https://{address(SERVER)}:8501/v1/status/leader")
    setting = json.dumps({"AccessorID": "", "SecretID": token("consul/dc1/management.token")})
    browser.execute_script("window.localStorage.setItem('consul:token', arguments[0])", setting)
    wanted = {"consul", "nomad", "pushgateway", "prometheus"}

    def services(d):
        listed = " ".join(texts(d, ".consul-service-list li")).split()
        return listed if wanted <= set(listed) else None

    listed = visit(browser, "consul-services", f"{base}/dc1/services", services)
    assert wanted <= set(listed), listed
