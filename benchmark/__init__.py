"""The benchmark: protocol (splits), suites, the job runner, the results store and reports."""

PROTOCOL_VERSION = "1"
