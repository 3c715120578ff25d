"""The kit's probes, one module per property group (seed.py: S, general.py: G, then one per namespace
type), each probe declared with its property (conformance/probes/declare.py)."""
