"""Evidence for a verdict: diagnostics captured during a run, and symptom -> cause -> evidence.

``DiagnosticsRecorder`` writes Redis INFO snapshots, py-spy stacks, tracemalloc top sites and GPU
memory into ``<run>/diagnostics/``; ``diagnose`` maps each failed or warned item to the reference
article's fault table and says which captured evidence supports or rules out each cause.

The package imports none of its modules: a probe (``gpu``, ``snapshots``) is usable without the
grader's formats that ``diagnose`` pulls in. Import from the module that defines a name.
"""
