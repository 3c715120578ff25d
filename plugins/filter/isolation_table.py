# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: isolation_table
short_description: Render observations inside a namespace set and on its host as an aligned table
version_added: "0.1.0"
description:
  - Turns a list of rows, each an observation made inside a set and on the host, into lines of text whose
    columns line up, with a last line that says whether every row shows isolation.
  - Meant for M(ansible.builtin.debug) with a list C(msg), which prints one line per item.
author:
  - linux.namespaces maintainers
options:
  _input:
    description:
      - Rows with the keys C(observation), C(inside), C(host) and C(isolated) (a boolean).
    type: list
    elements: dict
    required: true
  inside_title:
    description: Heading of the column of what was seen inside the set.
    type: str
    default: inside the set
  host_title:
    description: Heading of the column of what was seen on the host.
    type: str
    default: on the host
  max_width:
    description: Cells longer than this are cut, ending with C(...).
    type: int
    default: 44
"""

EXAMPLES = r"""
- name: Show the comparison
  ansible.builtin.debug:
    msg: "{{ rows | linux.namespaces.isolation_table(inside_title='inside isolated') }}"
  vars:
    rows:
      - {observation: hostname, inside: container, host: build-7, isolated: true}
"""

RETURN = r"""
_value:
  description: The table's lines (heading, rule, one line per row, and the verdict).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

REQUIRED_KEYS = ("observation", "inside", "host", "isolated")
ELLIPSIS = "..."


def _cut(text, width):
    text = " ".join(str(text).split())  # one line per cell, whatever the command printed
    return text if len(text) <= width else text[:width - len(ELLIPSIS)] + ELLIPSIS


def isolation_table(rows, inside_title="inside the set", host_title="on the host", max_width=44):
    if max_width < len(ELLIPSIS) + 1:
        raise AnsibleFilterError("isolation_table: max_width must be at least %d" % (len(ELLIPSIS) + 1))
    table = [("observation", inside_title, host_title, "isolated")]
    for row in rows:
        missing = [key for key in REQUIRED_KEYS if key not in row]
        if missing:
            raise AnsibleFilterError("isolation_table: a row lacks %s: %r" % (", ".join(missing), row))
        table.append((_cut(row["observation"], max_width), _cut(row["inside"], max_width),
                      _cut(row["host"], max_width), "yes" if _truth(row["isolated"]) else "NO"))
    widths = [max(len(line[column]) for line in table) for column in range(4)]

    def render(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    lines = [render(table[0]), render(["-" * width for width in widths])]
    lines.extend(render(line) for line in table[1:])
    not_isolated = [line[0] for line in table[1:] if line[3] != "yes"]
    if not_isolated:
        lines.append("NOT isolated: %s" % ", ".join(not_isolated))
    else:
        lines.append("every row shows isolation")
    return lines


def _truth(value):
    """Rows built in Jinja may carry 'True'/'False' strings instead of booleans."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


class FilterModule:
    def filters(self):
        return {"isolation_table": isolation_table}
