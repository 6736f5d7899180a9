"""Interface A: the CEM as an OpenADR 2.0b B-profile VEN talking to the DSRSP's VTN.

Modules, in the order data flows: ``schema`` (safe parsing, the official XSD), ``xmltime`` and
``xmlnodes`` (wire helpers), ``wire_*`` (one per service), ``codec`` (render and parse whole
messages), ``messages`` / ``events`` / ``reports`` (the typed objects), ``vocab`` (tokens and
response codes). See docs/openadr.md.
"""
