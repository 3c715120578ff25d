"""The conformance probe, run on the host under test (standard library + ctypes, Python 3.8+).

conformance/hostrun.py ships this package to a host inside one command and runs main.py there: it
makes the reference subject with util-linux `unshare`, observes the subjects and the kernel, removes
everything it made, and prints one JSON document. It never imports linux.namespaces code: it is the
collection's independent observer. A probe gathers facts; the pytest tests judge them. Every probe
that changes something does it inside a forked child, inside namespaces it owns, or on objects named
with the run's prefix, and undoes it.

    lib/           syscalls, children, observers, subjects, the run's names
    properties/    one module per property group, each probe declared with its property
    declare.py     the declaration; registry.py collects them (the controller imports it too)
    features.py    kernel features and host facts;  sweep.py the cleanup and leak check
    main.py        the entry point
"""
