"""The OpenADR 2.0b conformance runner: B-profile test cases driven against the VEN, a tracelog
per case, JUnit XML and an HTML summary (docs/openadr.md, "Conformance runner")."""
