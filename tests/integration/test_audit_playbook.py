"""audit.yml over SSH against a fleet of 5 test hosts, and its HTML report opened in headless Chromium.

Each fleet host is a network, UTS, mount and PID namespace with its own sshd (tests/fleet), made
and removed by the module fixture.
"""

from __future__ import annotations

import json
import os
import typing
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

import pytest

from tests.fleet import Fleet, next_fleet_prefix

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTS = 5
ALL_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")
WINDOW = (1600, 1000)
# Chromium as root, offline: flags from the machine notes (no sandbox, no background traffic).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASS_GREEN = (0xD6, 0xF5, 0xD6)  # the .pass cell background of the report's CSS


class AuditRun(typing.NamedTuple):
    names: list
    hostnames: dict
    completed: subprocess.CompletedProcess
    report_dir: pathlib.Path


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".ansible" / "collections"))
    return env


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """The fleet's host names and hostnames, the playbook's completed process and the report directory."""
    workdir = tmp_path_factory.mktemp("audit")
    report_dir = workdir / "reports"
    with Fleet(next_fleet_prefix(), HOSTS, workdir) as fleet:
        completed = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.audit",
             "-i", str(fleet.inventory_path), "-e", json.dumps({"audit_report_dir": str(report_dir)})],
            env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            check=False, timeout=300)
        names = [host.name for host in fleet.hosts]
        hostnames = {name: fleet.run(name, "hostname").stdout.strip() for name in names}
    assert completed.returncode == 0, completed.stdout
    return AuditRun(names, hostnames, completed, report_dir)


def test_audit_runs_over_ssh_on_every_fleet_host(audit):
    names, hostnames, completed, report_dir = audit.names, audit.hostnames, audit.completed, audit.report_dir
    assert len(names) == HOSTS
    # Each host answered over its own sshd, as its own UTS namespace: its hostname is the fleet's.
    assert all(hostnames[name] == name for name in names)
    recap = completed.stdout[completed.stdout.rindex("PLAY RECAP"):]
    for name in names:
        assert "%s " % name in recap and "unreachable=0    failed=0" in recap.split(name, 1)[1].splitlines()[0]
    report = json.loads((report_dir / "namespace-audit.json").read_text())
    assert sorted(report["hosts"]) == sorted(names)
    assert sorted(report["isolate"]["can"]) == sorted(names)
    for name in names:
        facts = report["hosts"][name]["facts"]
        assert facts["kernel"]["release"] == os.uname().release
        assert {t: facts["types"][t]["creatable"]["status"] for t in ALL_TYPES} == {t: "pass" for t in ALL_TYPES}
    assert report["groups"] == [{"kernel": os.uname().release, "hosts": sorted(names)}]


def test_markdown_report_has_a_row_per_host(audit):
    names, report_dir = audit.names, audit.report_dir
    text = (report_dir / "namespace-audit.md").read_text()
    for name in names:
        assert any(line.startswith("| %s | " % name) for line in text.splitlines())
    assert "- Can run isolate.yml (%d):" % HOSTS in text
    assert sorted(path.name for path in report_dir.iterdir()) == [
        "namespace-audit.html", "namespace-audit.json", "namespace-audit.md"]


class MatrixDom(HTMLParser):
    """From Chromium's DOM dump: the matrix's host rows and each row's cells (class, title, text)."""

    def __init__(self):
        super().__init__()
        self.in_matrix = False
        self.rows = {}
        self._host = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "matrix":
            self.in_matrix = True
        elif self.in_matrix and tag == "tr" and "data-host" in attrs:
            self._host = attrs["data-host"]
            self.rows[self._host] = []
        elif self._host and tag == "td":
            self._cell = [attrs.get("class"), attrs.get("title", ""), ""]
            self.rows[self._host].append(self._cell)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._host = None
        elif tag == "table":
            self.in_matrix = False


def chromium(*args: str) -> subprocess.CompletedProcess:
    program = shutil.which("chromium")
    if program is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    profile = tempfile.mkdtemp(prefix="lns-chromium-")
    try:
        return subprocess.run([program, *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *args], check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_pixels(data: bytes):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks = 8, {}
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.setdefault(kind, []).append(data[position + 8:position + 8 + length])
        position += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    assert depth == 8 and color_type in (2, 6), "unexpected PNG format %d/%d" % (depth, color_type)
    channels = 3 if color_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * channels
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):  # undo the PNG filter of this scanline
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            upper_left = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - upper_left
                distances = (abs(estimate - left), abs(estimate - up), abs(estimate - upper_left))
                line[x] = (line[x] + (left, up, upper_left)[distances.index(min(distances))]) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        previous = line
    return width, height, rows


def test_html_report_renders_the_matrix_in_headless_chromium(audit, tmp_path):
    names, report_dir = audit.names, audit.report_dir
    page = (report_dir / "namespace-audit.html").resolve().as_uri()
    screenshot = tmp_path / "report.png"
    shot = chromium("--screenshot=%s" % screenshot, "--window-size=%d,%d" % WINDOW, page)
    assert screenshot.exists(), shot.stderr
    width, height, rows = png_pixels(screenshot.read_bytes())
    assert (width, height) == WINDOW
    colors = {}
    for row in rows:
        for pixel in row:
            colors[pixel] = colors.get(pixel, 0) + 1
    background = max(colors, key=colors.get)
    assert background == (255, 255, 255)
    painted = width * height - colors[background]
    assert painted > width * height // 20, "the page is (nearly) blank"
    # 5 hosts x 26 cells, all pass: a good area of the pass colour.
    assert colors.get(PASS_GREEN, 0) > HOSTS * 26 * 200

    dom = chromium("--dump-dom", page)
    matrix = MatrixDom()
    matrix.feed(dom.stdout)
    assert sorted(matrix.rows) == sorted(names)
    widths = {len(cells) for cells in matrix.rows.values()}
    assert len(widths) == 1 and widths.pop() >= 1 + len(ALL_TYPES)
    for cells in matrix.rows.values():
        for css, title, text in cells:
            assert css in ("pass", "fail", "unknown")
            assert text.strip().endswith(css)
            assert ": " in title and len(title.split(": ", 1)[1]) > 5  # the reason
