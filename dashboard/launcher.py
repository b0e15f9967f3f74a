"""Start the dashboard: `python -m dashboard [--host 127.0.0.1] [--port 8501] [--serve-dir DIR]`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP_PATH = Path(__file__).resolve().parent / "app.py"
REPOSITORY = APP_PATH.parent.parent
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_command(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> list[str]:
    """The `streamlit run` command line: local only, headless, no usage statistics."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def dashboard_environment(serve_dir: Path | str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if serve_dir is not None:
        env["REVOPS_SERVE_DIR"] = str(Path(serve_dir).resolve())
    return env


def run_dashboard(
    port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, serve_dir: Path | str | None = None
) -> int:
    """Serve the dashboard on http://<host>:<port> until interrupted; returns Streamlit's exit code."""
    process = subprocess.Popen(
        streamlit_command(port, host), cwd=REPOSITORY, env=dashboard_environment(serve_dir)
    )
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Streamlit too (same process group): let it stop
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
