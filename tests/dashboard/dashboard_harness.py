"""What the dashboard tests share: a served file, a Streamlit server, a headless Chromium.

Not a conftest: `tests/dashboard` is deliberately not a package (as a package it would be
imported as `dashboard` and shadow the real one), and a second top-level `conftest` would
clash with `tests/conftest.py`. The test modules import this by name.

The browser is Debian's `chromium` driven through `chromium-driver` (`/usr/bin/chromedriver`)
with selenium; REVOPS_CHROMIUM and REVOPS_CHROMEDRIVER point elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:  # `dashboard` is not an installed package (yet)
    sys.path.insert(0, str(REPOSITORY))

ARTIFACTS_DIR = REPOSITORY / "test-artifacts" / "dashboard"
SCREENSHOTS_DIR = REPOSITORY / "docs" / "screenshots"
VIEWPORT = (1440, 900)  # the size issue 15 reviews the pages at
CHROMIUM = Path(os.environ.get("REVOPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path(os.environ.get("REVOPS_CHROMEDRIVER") or "/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
]
ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for module in ("streamlit", "selenium"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install streamlit selenium)"
    for path, _package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing (apt-get install -y chromium chromium-driver; or set REVOPS_CHROMIUM/REVOPS_CHROMEDRIVER)"
    return None


# --------------------------------------------------------------------------- the served file


def mart_names(warehouse_path: Path) -> list[str]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]


def publish_demo(warehouse_path: Path, serve_dir: Path, as_of_date: dt.date, run_id: str | None = None):
    """Publish the built demo warehouse's marts to `serve_dir`, as a passing run would."""
    from revops.publish import PublishRequest, publish_marts

    marts = mart_names(warehouse_path)
    checks = [
        {"asset": f"marts/{m}", "check": "contract", "passed": True, "severity": "blocking"} for m in marts
    ]
    return publish_marts(
        warehouse_path,
        serve_dir,
        PublishRequest(run_id=run_id or uuid.uuid4().hex, as_of_date=as_of_date, marts=marts, checks=checks),
    )


def read_served(serve_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    """What the test expects, read from the served file (and closed right after)."""
    from revops.publish import served_path

    with duckdb.connect(str(served_path(serve_dir)), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------- the Streamlit server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DashboardServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server and everything it started (its own process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def open_files(self) -> list[str]:
        """The files the server process holds open now (Linux /proc)."""
        fd_dir = Path(f"/proc/{self.process.pid}/fd")
        held = []
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                held.append(os.readlink(fd))
            except OSError:
                continue
        return held


def start_dashboard(serve_dir: Path, log_dir: Path, timeout: float = 60) -> DashboardServer:
    """`python -m streamlit run dashboard/app.py` on a free loopback port, healthy or failed loudly."""
    from dashboard.launcher import dashboard_environment, streamlit_command

    port = free_port()
    log_path = Path(log_dir) / f"streamlit-{port}.log"
    env = dashboard_environment(serve_dir)
    env["PYTHONUNBUFFERED"] = "1"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            streamlit_command(port=port, host="127.0.0.1"),
            cwd=REPOSITORY,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the finalizer kills all of it
        )
    server = DashboardServer(process, port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n{server.log()[-4000:]}")


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = bytes.fromhex(address)
                    found.add(
                        socket.inet_ntop(
                            socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                        )
                    )
    return found


# --------------------------------------------------------------------------- the browser


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="revops-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
    )
    driver.set_page_load_timeout(60)
    driver._revops_profile = profile  # removed by stop_browser
    return driver


def stop_browser(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "_revops_profile", ""), ignore_errors=True)


def _rendered(driver) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        if not driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="stApp"][data-test-script-state="notRunning"]'
        ):
            return False
        if not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMainBlockContainer"] h1'):
            return False
        # a loaded but not yet painted element is a grey skeleton (seen on a fresh server under load)
        if driver.find_elements(By.CSS_SELECTOR, '[data-testid^="stSkeleton"]'):
            return False
        charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')
        return all(chart.find_elements(By.CSS_SELECTOR, "canvas, svg") for chart in charts)
    except StaleElementReferenceException:
        return False


def open_page(driver, url: str, timeout: float = 45) -> str:
    """Load `url`, wait until the script finished and every chart drew; the page's text."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(_rendered)
    time.sleep(0.4)  # let the last chart and grid finish painting
    text, deadline = page_text(driver), time.monotonic() + timeout
    while time.monotonic() < deadline:  # the text settles: two reads half a second apart agree
        time.sleep(0.5)
        again = page_text(driver)
        if again == text and _rendered(driver):
            return text
        text = again
    return text


def page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def selected_option(driver, index: int = 0, *, where: str = '[data-testid="stMainBlockContainer"]') -> str:
    """The shown value of the page's `index`-th selectbox (not part of the body's text); `where`:
    the page's own (default) or the sidebar's (`SIDEBAR`, the as-of picker)."""
    from selenium.webdriver.common.by import By

    boxes = driver.find_elements(By.CSS_SELECTOR, f'{where} [data-testid="stSelectbox"]')
    if len(boxes) <= index:
        return ""
    box = boxes[index]
    inputs = box.find_elements(By.CSS_SELECTOR, "input")
    shown = [box.get_attribute("textContent") or ""] + [i.get_attribute("value") or "" for i in inputs]
    return " ".join(shown)


SIDEBAR = '[data-testid="stSidebar"]'


def pick_in_sidebar(driver, label: str | None = None, timeout: float = 10) -> list[str]:
    """Open the sidebar's selectbox (the as-of picker): the options it lists; with `label`, click
    the option whose text starts with it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(
        By.CSS_SELECTOR, f'{SIDEBAR} [data-testid="stSelectbox"] input[role="combobox"]'
    )
    box.click()
    options = WebDriverWait(driver, timeout).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '[role="listbox"] [role="option"]')
    )
    texts = [option.text for option in options]
    if label is None:
        box.click()  # close it again
        return texts
    next(option for option in options if option.text.startswith(label)).click()
    return texts


def past_day_warehouse(warehouse_path: Path, target: Path, day: dt.date, drop_high_risk: int) -> Path:
    """A stand-in for an earlier day's build: the marts of `warehouse_path` copied to `target`,
    every `as_of_date` set to `day`, and the `drop_high_risk` largest high-risk deals not yet in
    deal_risk, so the day's figures differ from the demo's (and the difference is known)."""
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{warehouse_path}' as demo (read_only)")
        con.execute("create schema marts")
        for mart in mart_names(warehouse_path):
            con.execute(f'create table marts."{mart}" as select * from demo.marts."{mart}"')
            columns = {row[0] for row in con.execute(f'describe marts."{mart}"').fetchall()}
            if "as_of_date" in columns:
                con.execute(f'update marts."{mart}" set as_of_date = ?', [day])
        con.execute(
            "delete from marts.deal_risk where opportunity_id in (select opportunity_id from marts.deal_risk "
            f"where risk_level = 'high' order by risk_score * amount desc limit {int(drop_high_risk)})"
        )
    return target


def error_boxes(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [box.text for box in driver.find_elements(By.CSS_SELECTOR, ERROR_BOXES)]


def save_screenshot(driver, name: str, *, publish: bool = True) -> Path:
    """test-artifacts/dashboard/<name>.png; with REVOPS_UPDATE_SCREENSHOTS=1 also a small
    copy in docs/screenshots/ for the README (opt-in, so a test run leaves the tree clean)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    artifact = ARTIFACTS_DIR / f"{name}.png"
    driver.save_screenshot(str(artifact))
    if publish and os.environ.get("REVOPS_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        committed = SCREENSHOTS_DIR / f"{name}.png"
        try:
            from PIL import Image

            with Image.open(artifact) as image:
                small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
                small.save(committed, optimize=True)
        except ImportError:  # Pillow comes with Streamlit; without it, copy as is
            shutil.copyfile(artifact, committed)
    return artifact


def grid(driver, index: int = 0) -> dict:
    """The `index`-th data grid on the page: its rectangle in the viewport and the text of its
    rows as the grid's accessibility table holds them (header first; the columns in view)."""
    return driver.execute_script(
        """
        const grid = document.querySelectorAll('[data-testid="stDataFrame"]')[arguments[0]];
        if (!grid) return null;
        const rect = grid.getBoundingClientRect();
        const rows = [...grid.querySelectorAll('table tr')].map(
            tr => [...tr.querySelectorAll('th, td')].map(cell => cell.textContent));
        return {top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right, rows: rows};
        """,
        index,
    )


def open_heading(driver, url: str, timeout: float = 45) -> tuple[str, str]:
    """Load `url` and wait only until the script finished and the page drew its title (not its
    charts): (the h1, the page's text). For checks that need the page, not its figures."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def heading(d):
        try:
            if not d.find_elements(
                By.CSS_SELECTOR, '[data-testid="stApp"][data-test-script-state="notRunning"]'
            ):
                return False
            found = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMainBlockContainer"] h1')
            return found[0].text if found and found[0].text else False
        except StaleElementReferenceException:
            return False

    driver.get(url)
    title = WebDriverWait(driver, timeout, poll_frequency=0.2).until(heading)
    time.sleep(0.3)  # a "Page not found" dialog comes with the same message as the page
    return title, page_text(driver)
