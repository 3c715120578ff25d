"""Everything the kit does on one host, in a constant number of round trips.

1. one command: which namespace types the kernel has (to ask the collection for a set it can make);
2. one `ansible` call: the collection's module makes its set (only if the collection subject is wanted);
3. one command: the probe package, shipped compressed in the command line, makes the reference subject,
   runs every wanted probe on every subject and the kernel, undoes what it made, prints JSON;
4. one `ansible` call: the module removes its set;
5. one command: the probe again, in cleanup mode: it unmounts the kit's store and checks that nothing
   carrying the run's prefix is left on the host.
"""

import ast
import base64
import io
import json
import shlex
import time
import tokenize
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from conformance.collection import AnsibleUnavailable, CollectionSet, GivenCollectionSet
from conformance.probes.lib.subjects import SUBJECT_TYPES, TIME_OFFSET
from conformance.probes.main import BEGIN_MARK, END_MARK
from conformance.probes.registry import PROPERTIES

KIT_ROOT = Path(__file__).resolve().parent.parent
# What runs on the host: the probe package and the packages above it (their __init__ files).
SHIPPED = ("conformance/__init__.py", "conformance/probes")
# Serves the shipped sources under their real module names from memory (no file lands on the host),
# then runs the probe. Python 3.8+: find_spec/exec_module.
LOADER = """import base64,json,sys,zlib,importlib.abc,importlib.util
S=json.loads(zlib.decompress(base64.b64decode('%s')))
class L(importlib.abc.MetaPathFinder,importlib.abc.Loader):
 def find_spec(self,name,path,target=None):
  return importlib.util.spec_from_loader(name,self,is_package=S[name][0]) if name in S else None
 def create_module(self,spec):
  return None
 def exec_module(self,module):
  _,path,source=S[module.__name__]
  exec(compile(source,path,'exec'),module.__dict__)
sys.meta_path.insert(0,L())
from conformance.probes.main import main
main(sys.argv)"""
# The host as found: its namespace types, and how many procfs are mounted on its /proc.
FIRST_LOOK = "ls /proc/self/ns; echo --; awk '$5 == \"/proc\" && / - proc /' /proc/self/mountinfo | wc -l"


def shipped_sources() -> Dict[str, Tuple[bool, str, str]]:
    """Module name -> (is a package, path, source) of everything the probe needs on the host."""
    sources: Dict[str, Tuple[bool, str, str]] = {}
    for shipped in SHIPPED:
        top = KIT_ROOT / shipped
        for path in sorted(top.rglob("*.py")) if top.is_dir() else [top]:
            relative = path.relative_to(KIT_ROOT)
            package = path.name == "__init__.py"
            name = ".".join(relative.parent.parts if package else relative.with_suffix("").parts)
            sources[name] = (package, str(relative), code_only(path.read_text()))
    return sources


def code_only(source: str) -> str:
    """The source with its docstrings and comments blanked: the host runs the code and needs neither
    (property definitions are read on the controller). Line numbers stay, so an error a probe reports
    names the repository's line."""
    lines = source.splitlines(True)
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) or not body:
            continue
        doc = body[0]
        if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
            continue
        indent = lines[doc.lineno - 1][:doc.col_offset]
        if indent.strip() or lines[doc.end_lineno - 1][doc.end_col_offset:].strip():
            continue  # shares a line with other code: left as it is
        lines[doc.lineno - 1] = indent + '""\n'
        for number in range(doc.lineno, doc.end_lineno):
            lines[number] = "\n"
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip() + "\n"
    return "".join(lines)


def probe_command(python: str, request: Dict) -> str:
    """One shell command that runs the probe with this request (no file lands on the host)."""
    packed = base64.b64encode(zlib.compress(json.dumps(shipped_sources()).encode(), 9)).decode()
    payload = base64.b64encode(json.dumps(request).encode()).decode()
    return "%s -c %s %s" % (python, shlex.quote(LOADER % packed), payload)


def parse_probe_output(stdout: str) -> Optional[Dict]:
    lines = stdout.splitlines()
    if BEGIN_MARK in lines and END_MARK in lines:
        begin = lines.index(BEGIN_MARK)
        return json.loads("\n".join(lines[begin + 1:lines.index(END_MARK)]))
    return None


class HostRun:
    """Runs the kit on one testinfra host and keeps the outcome (results, facts, round trips)."""

    def __init__(self, host, prefix: str, subjects: List[str], ids: List[str], python: str,
                 collections_path: Optional[str], given_set: Optional[Tuple[str, str]] = None):
        self.host = host
        self.prefix = prefix
        self.subjects = subjects
        self.ids = ids
        self.python = python
        self.collections_path = collections_path
        self.given_set = given_set  # (name, store) of a set the caller made: see GivenCollectionSet
        self.commands = 0
        self.outcome: Dict = {}

    def command(self, command: str):
        self.commands += 1
        return self.host.run(command)

    def execute(self) -> Dict:
        started = time.time()
        first_look = self.command(FIRST_LOOK).stdout.split("--")
        kernel_types = first_look[0].split()
        types = [t for t in SUBJECT_TYPES if t in kernel_types]
        specs = [{"kind": kind, "hostname": "%s-%s" % (self.prefix, kind)}
                 for kind in self.subjects if kind != "collection"]
        collection = None
        if self.setup_ids() and "collection" in self.subjects:
            collection = GivenCollectionSet(*self.given_set) if self.given_set else CollectionSet(
                self.host, self.python, self.collections_path, self.prefix, types, TIME_OFFSET)
        collection_error = None
        report: Dict = {}
        cleanup_errors: List[str] = []
        try:
            if collection is not None:
                try:
                    collection.create()
                    specs.append(collection.spec())
                except AnsibleUnavailable as exc:
                    collection_error = "the collection subject could not be made: %s" % exc
            report = self.probe({"prefix": self.prefix, "ids": self.ids, "subjects": specs,
                                 "proc_mounts_before_subjects": int(first_look[1])})
        finally:
            if collection is not None:
                try:
                    collection.remove()
                except AnsibleUnavailable as exc:
                    cleanup_errors.append(str(exc))
            hostname = report.get("facts", {}).get("hostname")
            cleanup = self.cleanup(collection.store if collection and collection.made_by_kit else None, hostname)
        if collection_error:
            report["subjects"]["collection"] = {"error": collection_error}
            report["results"]["collection"] = dict((i, {"error": collection_error}) for i in self.setup_ids())
        report["cleanup"] = {"probe_swept": report.pop("swept", []),
                             "removed": cleanup.get("removed", []), "leftovers": cleanup.get("leftovers", []),
                             "errors": cleanup_errors + cleanup.get("errors", [])}
        report["round_trips"] = {"commands": self.commands, "ansible_calls": collection.calls if collection else 0}
        report["started"], report["finished"] = started, time.time()
        self.outcome = report
        return report

    def setup_ids(self) -> List[str]:
        return [i for i in self.ids if PROPERTIES[i].setup]

    def probe(self, request: Dict) -> Dict:
        result = self.command(probe_command(self.python, request))
        parsed = parse_probe_output(result.stdout)
        if parsed is None:
            error = "the probe failed on the host (exit %s): %s" % (result.rc, result.stderr.strip()[-2000:])
            results = {"kernel": dict((i, {"error": error}) for i in self.ids if i not in self.setup_ids())}
            for kind in self.subjects:
                results[kind] = dict((i, {"error": error}) for i in self.setup_ids())
            return {"facts": {}, "features": {}, "subjects": {}, "results": results}
        return parsed

    def cleanup(self, store: Optional[str], hostname: Optional[str]) -> Dict:
        request = {"prefix": self.prefix, "mode": "cleanup", "store": store, "hostname": hostname}
        result = self.command(probe_command(self.python, request))
        parsed = parse_probe_output(result.stdout)
        if parsed is None:
            return {"errors": ["the cleanup check failed on the host (exit %s): %s"
                               % (result.rc, result.stderr.strip()[-2000:])]}
        return parsed
