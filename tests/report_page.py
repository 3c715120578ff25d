"""For the report tests: headless Chromium (screenshots and DOM dumps of self-contained pages), the pixels
of a screenshot (PNG decoded with the standard library), the cells of a table of a page, the ids and links
of a page, the recorded kit results the compatibility report tests render, and a realistic fleet of 20 hosts
made from them."""

from __future__ import annotations

import copy
import json
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Tuple, Union

import pytest

# Chromium as root, offline: no sandbox, no background traffic.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throwaway profile; fails the test if it is not installed."""
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


def screenshot(page: str, window: Tuple[int, int], path) -> Tuple[list, dict]:
    """Chromium's screenshot of page (a URI) at that window size, written to path: its rows of pixels and
    how many pixels of each colour it has. The page fills the window on a white background."""
    shot = chromium("--screenshot=%s" % path, "--window-size=%d,%d" % window, page)
    assert path.exists(), shot.stderr
    width, height, rows = png_pixels(path.read_bytes())
    assert (width, height) == window
    colors = color_counts(rows)
    assert max(colors, key=colors.get) == (255, 255, 255)
    return rows, colors


def color_counts(rows) -> dict:
    """How many pixels of each colour a screenshot has."""
    counts: dict = {}
    for row in rows:
        for pixel in row:
            counts[pixel] = counts.get(pixel, 0) + 1
    return counts


Cell = Tuple[Dict[str, str], str]


class _TableRows(HTMLParser):
    def __init__(self, table_id: str, row_attribute: str):
        super().__init__()
        self.table_id, self.row_attribute = table_id, row_attribute
        self.header: List[Dict[str, str]] = []
        self.rows: Dict[str, List[Cell]] = {}
        self._depth = 0  # > 0 inside the table
        self._in_head = False
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict((name, value or "") for name, value in attrs)
        if tag == "table" and (self._depth or attrs.get("id") == self.table_id):
            self._depth += 1
        elif not self._depth:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head:
            self.header.append(attrs)
        elif tag == "tr" and self.row_attribute in attrs:
            self._row = self.rows.setdefault(attrs[self.row_attribute], [])
        elif tag == "td" and self._row is not None:
            self._cell = [attrs, ""]
            self._row.append(self._cell)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag == "td" and self._cell is not None:
            self._row[-1] = tuple(self._cell)
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._depth -= 1


def table_rows(page: str, table_id: str, row_attribute: str) -> Tuple[List[Dict[str, str]], Dict[str, List[Cell]]]:
    """The header cells' attributes of table `table_id`, and its rows that carry `row_attribute`, keyed by
    its value, each a list of its td cells as (attributes, text)."""
    parser = _TableRows(table_id, row_attribute)
    parser.feed(page)
    return parser.header, parser.rows


# The recorded per-host kit results the report tests render (tests/data/compat/README.md says what they are).
COMPAT_FIXTURE = Path(__file__).resolve().parent / "data" / "compat"


def recorded_kit_results(directory: Path = COMPAT_FIXTURE) -> Dict[str, dict]:
    """Host name -> its recorded kit result, for every JSON file of the directory."""
    results = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text())
        results[document["host"]] = document
    return results


# Why two hosts of a realistic fleet have no result: Ansible's message for an unreachable host (as in the audit
# report's tests) and the role's for a host the kit ran on past conformance_timeout.
NO_ROUTE = "unreachable: Failed to connect to the host via ssh: ssh: connect to host 10.64.0.9 port 22: No route to host"
CUT_OFF = "Run the kit on the host: async task did not complete within the requested time - 1800s"
# Numbers of 3 digits or more in an observation: PIDs, inode numbers, IPC keys, clock values, names made with a PID.
HOST_NUMBER = re.compile(r"(?<![0-9.])[0-9]{3,}(?![0-9.])")


def _as_host(document: dict, name: str, position: int) -> dict:
    """The recorded result as another host on the same kernel would give it: its own name, and its own host name,
    kit prefix, PIDs, inode numbers and the like inside every observation."""
    document = copy.deepcopy(document)
    hostname, prefix = document["caller"]["hostname"], document["prefix"]
    own_prefix = "lnsc%04dk" % position
    document.update(host=name, prefix=own_prefix)
    document["caller"]["hostname"] = name
    for entry in document["results"]:
        # The names first, out of the numbers' way (they hold digits), then back as this host's.
        text = json.dumps(entry["observed"]).replace(hostname, "@HOSTNAME@").replace(prefix, "@PREFIX@")
        text = HOST_NUMBER.sub(lambda number: str(int(number.group(0)) + 7919 * position), text)
        text = text.replace("@HOSTNAME@", name).replace("@PREFIX@", own_prefix)
        entry["observed"] = json.loads(text)
    return document


def _failing(document: dict, prop_id: str, subject: str, reason: str) -> dict:
    for entry in document["results"]:
        if (entry["id"], entry["subject"]) == (prop_id, subject):
            entry.update(result="FAIL", reason=reason)
    document["summary"] = dict(document["summary"], PASS=document["summary"]["PASS"] - 1,
                               FAIL=document["summary"]["FAIL"] + 1)
    return document


def realistic_fleet(count: int = 20) -> Dict[str, Union[str, dict]]:
    """Host name -> kit result (or the reason it has none) for a fleet of `count` hosts as a real one differs: each
    host takes a recorded kernel's result, the kernels mixed, with its own name and host-specific numbers and
    names in its observations (no two hosts' evidence is the same); two hosts FAIL (a pinned mount namespace
    on a 6.1 host, the collection's UTS set on a 6.12 host, each with its own observation), one host is
    unreachable and one was cut off by the timeout."""
    recorded = sorted(recorded_kit_results().values(), key=lambda document: document["host"])
    fleet: Dict[str, Union[str, dict]] = {}
    for position in range(count - 2):
        name = "node%02d" % (position + 1)
        fleet[name] = _as_host(recorded[position % len(recorded)], name, position + 1)
    by_kernel = dict((document["kernel"]["version"], name) for name, document in fleet.items())
    _failing(fleet[by_kernel["6.1"]], "G6", "kernel", "AssertionError: the namespace pinned by a bind mount died")
    _failing(fleet[by_kernel["6.12"]], "UTS2", "collection", "AssertionError: the host's hostname changed")
    fleet["node%02d" % (count - 1)] = NO_ROUTE
    fleet["node%02d" % count] = CUT_OFF
    return fleet


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: List[Tuple[str, Dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict((name, value or "") for name, value in attrs)))


def elements(page: str) -> List[Tuple[str, Dict[str, str]]]:
    """Every start tag of a page, in document order, with its attributes."""
    parser = _Elements()
    parser.feed(page)
    return parser.found


def dangling_links(page: str) -> List[str]:
    """The in-page links (href="#id") of a page whose id no element has."""
    found = elements(page)
    ids = {attributes["id"] for _tag, attributes in found if attributes.get("id")}
    return [attributes["href"] for _tag, attributes in found
            if attributes.get("href", "").startswith("#") and attributes["href"][1:] not in ids]
