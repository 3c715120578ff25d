#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conformance_bundle
short_description: Pack the conformance kit and its Python requirements for hosts without the internet
version_added: "0.1.0"
description:
  - Writes C(conformance-kit.tar.gz) into O(dest) on the controller. It holds the collection's conformance kit
    under C(kit/conformance/), one site zip per range of host Pythons with the pure-Python distributions the kit
    runs with there (pytest-testinfra, pytest and everything they require on those Pythons; Python imports them
    from the zip), and C(bundle.json), which records which distributions and versions serve which Pythons.
  - The first site is copied from the Python that runs Ansible on the controller, or from the directories in
    O(search_path). For each Python in O(pythons) it does not serve, the pure-Python wheels that the collection's
    C(requirements/conformance-hosts.txt) pins for that Python (exact versions, with hashes) make another site. The
    controller Python's pip installs them once per set of pins into O(cache_dir)
    (C(pip install --target --python-version X.Y --platform any --no-deps --require-hashes --only-binary=:all:)),
    so pip decides nothing the pins do not say; Pythons with the same pins share a site.
  - A distribution with compiled code is refused (C(Root-Is-Purelib) must be true).
  - A host runs the kit from the unpacked tarball with
    C(PYTHONPATH=DIR/SITE:DIR/kit python3 -m pytest DIR/kit/conformance --hosts=local://), SITE being the zip that
    RV(site_for) names for its Python; it needs no internet and no ansible. The role C(linux.namespaces.conformance)
    does this.
  - Which Pythons a site serves is computed from the distributions' metadata. A version is served when every
    distribution it needs there accepts it and every requirement that applies to it is shipped, for example
    pytest 8.4 and later need C(exceptiongroup) and C(tomli) on Python 3.10 and older.
  - A Python in O(pythons) that no site serves does not fail the task; RV(unserved) says why.
  - Always reports a change; it writes nothing in check mode.
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  dest:
    description:
      - An existing directory on the controller to write the tarball into, usually a temporary one.
    type: path
    required: true
  search_path:
    description:
      - Directories to take the distributions from instead of the controller Python's C(sys.path).
      - For example one made with C(python3.9 -m pip install --target DIR pytest pytest-testinfra) for hosts with
        Python 3.9.
    type: list
    elements: path
  pythons:
    description:
      - The host Python versions (major.minor) the bundle must serve.
      - Empty means those the controller's distributions (or O(search_path)) serve, and nothing is fetched.
    type: list
    elements: str
    default: []
  fetch:
    description:
      - Whether pip may fetch the pinned wheels of a Python in O(pythons) that O(cache_dir) does not hold yet.
      - With V(false) the task uses the network for nothing; a Python that then has no site is listed in RV(unserved).
    type: bool
    default: true
  cache_dir:
    description:
      - Directory on the controller for the fetched distributions, one subdirectory per set of pins.
      - Default C($XDG_CACHE_HOME/linux.namespaces/conformance-hosts), or C(~/.cache/linux.namespaces/conformance-hosts).
    type: path
extends_documentation_fragment:
  - linux.namespaces.controller_action
attributes:
  check_mode:
    support: full
    description: Builds nothing.
  diff_mode:
    support: none
    description: Writes a new tarball each time; there is nothing to compare.
seealso:
  - module: linux.namespaces.compat_report
"""

EXAMPLES = r"""
- name: Make a temporary directory on the controller
  ansible.builtin.tempfile:
    state: directory
  register: controller_tmp
  delegate_to: localhost
  run_once: true

- name: Pack the kit for hosts with Python 3.8 and 3.11
  linux.namespaces.conformance_bundle:
    dest: "{{ controller_tmp.path }}"
    pythons: ["3.8", "3.11"]
  delegate_to: localhost
  run_once: true
  register: bundle

- name: The zip a host with Python 3.8 imports from
  ansible.builtin.debug:
    msg: "PYTHONPATH=DIR/{{ bundle.site_for['3.8'] }}:DIR/kit"
  run_once: true
"""

RETURN = r"""
path:
  description: Path of the tarball on the controller.
  returned: always
  type: str
  sample: /tmp/ansible.x1y2/conformance-kit.tar.gz
pythons:
  description: The host Python versions (major.minor) the bundle serves.
  returned: success, not in check mode
  type: list
  elements: str
  sample: ["3.8", "3.11", "3.12", "3.13", "3.14"]
site_for:
  description: For each Python the bundle serves, the site zip a host with that Python imports from.
  returned: success, not in check mode
  type: dict
  sample: {"3.8": "site-3.8.zip", "3.11": "site-3.11.zip", "3.12": "site-3.11.zip"}
sites:
  description: The bundle's site zips, by name, as in its C(bundle.json).
  returned: success, not in check mode
  type: dict
  contains:
    pythons:
      description: The Pythons that import from this site.
      type: list
      elements: str
    distributions:
      description: The shipped distributions and their versions.
      type: dict
    source:
      description: Where the distributions come from (the controller's Python, the search path, or the pins and the cache).
      type: str
  sample:
    site-3.8.zip:
      pythons: ["3.8"]
      distributions: {"pytest": "8.3.5", "pytest-testinfra": "8.1.0", "pluggy": "1.5.0", "exceptiongroup": "1.3.2"}
      source: conformance-hosts.txt, fetched into /root/.cache/linux.namespaces/conformance-hosts/pins-e210451794ba6a3e
    site-3.11.zip:
      pythons: ["3.11", "3.12", "3.13", "3.14"]
      distributions: {"pytest": "9.2.0", "pytest-testinfra": "10.2.2", "pluggy": "1.7.0"}
      source: the controller's Python /usr/bin/python3
unserved:
  description: Each Python of O(pythons) that no site serves, and why (for example that fetching is off).
  returned: success, not in check mode
  type: dict
  sample: {"3.7": "the kit needs Python 3.8 or later"}
built_with:
  description: The version of the Python the distributions were taken from.
  returned: success, not in check mode
  type: str
  sample: 3.11.7
kit_files:
  description: How many files of the kit the tarball holds.
  returned: success, not in check mode
  type: int
  sample: 22
"""
