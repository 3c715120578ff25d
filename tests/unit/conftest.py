# -*- coding: utf-8 -*-
"""Unit tests import the collection by its Ansible name, through the symlinked collection path."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, ".ansible", "collections"))
