#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compat_report
short_description: Write the kernel-version compatibility report of the conformance kit's results
version_added: "0.1.0"
description:
  - Reads each host's conformance kit result (the JSON document of schema
    C(linux.namespaces/conformance-host-result/1) that the role C(linux.namespaces.conformance) leaves in the host
    variable O(result_var)) for the hosts in O(hosts), and writes one report on the controller, in three files under
    O(dest), C(BASENAME.json), C(BASENAME.md) and C(BASENAME.html).
  - Rows are the properties the kit checked, grouped by type (S, G, UTS, IPC, PID, MNT, NET, USER, CG, TIME).
    Columns are kernel versions (major.minor); the hosts are grouped by their kernel's version. A cell counts
    the C(PASS), C(FAIL) and C(SKIP) results of the property on the hosts of that kernel, in all and per subject
    (C(kernel), C(reference), C(collection)); its colour says C(fail) (at least one FAIL), C(skip) (all SKIP),
    C(partial) (PASS and SKIP), C(pass) (all PASS) or C(none) (not checked there).
  - Beside each row, the kernel features the property relies on and the first mainline kernel that brings each.
    A table of every kernel feature shows on how many hosts of each kernel it is present.
  - Findings list the failing cells and what each points at, by the kit's reading rule. A property that fails
    for the collection but not for the reference points at the collection. One that fails for the reference
    points at the host. One that the kernel subject fails points at the kernel.
  - Each host's kit result is kept whole in the JSON report. A host without a result (unreachable, or the kit
    could not run there) is listed with the reason, from O(failure_var) when the host has it.
  - The HTML page has inline CSS and no scripts or external resources; the reasons of FAIL and SKIP results
    show as cell tooltips and in a visible table.
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  basename:
    description:
      - The file name of the report without its suffix.
    type: str
    default: compat-report
  result_var:
    description:
      - The host variable that holds each host's kit result.
    type: str
    default: conformance_result
  failure_var:
    description:
      - The host variable that says, on a host without a result, why the kit could not run there.
      - The role C(linux.namespaces.conformance) sets C(conformance_failure).
    type: str
extends_documentation_fragment:
  - linux.namespaces.controller_action
  - linux.namespaces.controller_action.report
seealso:
  - module: linux.namespaces.conformance_bundle
  - module: linux.namespaces.audit_report
"""

EXAMPLES = r"""
- name: Write the compatibility report
  linux.namespaces.compat_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dest: reports
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
json:
  description: Path of the JSON report.
  returned: always
  type: str
  sample: /home/me/reports/compat-report.json
markdown:
  description: Path of the Markdown report.
  returned: always
  type: str
  sample: /home/me/reports/compat-report.md
html:
  description: Path of the HTML page.
  returned: always
  type: str
  sample: /home/me/reports/compat-report.html
hosts:
  description: How many hosts the report covers, with or without a result.
  returned: always
  type: int
  sample: 5
kernels:
  description: The report's columns, the kernel versions, oldest first.
  returned: always
  type: list
  elements: str
  sample: ["5.10", "6.18"]
totals:
  description: The results over all hosts and properties.
  returned: always
  type: dict
  sample: {"PASS": 231, "FAIL": 3, "SKIP": 0}
findings:
  description: The failing cells, each with its property, kernel, failing subjects and what it points at.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "G6", "kernel": "6.18", "subjects": ["kernel"], "blame": "the kernel: the kit's own probes fail"}]
missing:
  description: Hosts without a usable result, with the reason.
  returned: always
  type: dict
  sample: {"web3": "no result: the host was unreachable, or the kit could not run there (see the play's output)"}
"""
