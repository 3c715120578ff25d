# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stdout callback for the tests: every task result, complete, as one JSON document."""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import module_response_deepcopy, strip_internal_keys

DOCUMENTATION = """
    name: full_json
    type: stdout
    short_description: Complete task results as one JSON document, for the tests
    description:
      - "When the run ends, prints C(plays) (each with its C(play) and C(tasks), each task with its
        C(task) and C(hosts), a mapping of host name to result) and C(stats), per host."
      - "Unlike the json callback of ansible.posix (not part of ansible-core), each result keeps its
        C(diff), C(invocation), C(warnings), C(deprecations) and C(exception): tests assert on them."
"""


class CallbackModule(CallbackBase):
    """Collects the results by play and task, and prints them when the stats arrive."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'full_json'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]['tasks'].append({'task': {'name': task.get_name(), 'action': task.action}, 'hosts': {}})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _record(self, result, **status):
        complete = strip_internal_keys(module_response_deepcopy(result.result))
        complete.update(status)
        self.plays[-1]['tasks'][-1]['hosts'][result.host.get_name()] = complete

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({'plays': self.plays, 'stats': summary}, indent=2, sort_keys=True, default=str))
