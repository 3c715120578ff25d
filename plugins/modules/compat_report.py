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
  - Rows are the properties the kit checked, grouped by type (S, G, UTS, IPC, PID, MNT, NET, USER, CG, TIME), each
    with its title and, on demand, its definition (from the kit's C(properties) map; the ID alone where a host's
    result has none). Columns are kernel versions (major.minor), oldest first; then one column per host without a
    result, which says why and is never counted as a pass. A cell counts the C(PASS), C(FAIL) and C(SKIP) results of
    the property on the hosts of that kernel, in all and per subject (C(kernel), C(reference), C(collection)).
  - Beside each row, the features the property relies on and the first mainline kernel of each. Each cell has a
    verdict against that first kernel. A C(FAIL) at or after it, or a C(PASS) before it, is a C(finding). A C(FAIL)
    before it is C(expected) by version. The findings section comes first (findings, then failures expected by
    version, then skips with their reasons). A failing finding says what it points at, by the kit's reading rule (the
    kernel, the host, or the collection).
  - Hosts whose results are identical share their evidence (each C(FAIL) and C(SKIP) with its reason and each host's
    observation, long ones cut; the properties that passed on one line, without observations); each cell links to
    the evidence of its kernel's hosts; a group where everything passed is collapsed.
  - A host without a result (unreachable, or the kit could not run there, or was cut off by the role's timeout) is
    listed with the reason from O(failure_vars).
  - The Markdown and HTML are rendered from the JSON report (schema C(linux.namespaces/compat-report/3), described in
    the collection's C(docs/REPORTS.md)) by Jinja2 templates, the collection's or your own (O(html_template),
    O(markdown_template)). The HTML page is one file with inline CSS and an inline SVG heat map of properties by
    kernel, and no scripts or external resources.
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
    failure_vars: [conformance_failure]
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
kernels:
  description: The kernel versions measured, oldest first.
  returned: always
  type: list
  elements: str
  sample: ["5.10", "6.1", "6.18"]
counts:
  description: The results over all hosts and properties, the hosts (with and without a result), the kernel
    versions, the findings and the failures expected by version.
  returned: always
  type: dict
  sample: {"PASS": 231, "FAIL": 3, "SKIP": 4, "hosts": 5, "without_result": 1, "kernels": 3, "findings": 1, "expected": 2}
findings:
  description: The cells that disagree with the documented first kernel, each with its property, kernel and what it
    says.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "G6", "kernel": "6.18", "first_kernel": "4.9", "what": "FAIL for kernel; points at the kernel: ..."}]
missing:
  description: Hosts without a usable result, with the reason.
  returned: always
  type: dict
  sample: {"web3": "no result: unreachable: Failed to connect to the host via ssh: ... No route to host"}
"""
