"""Exceptions shared by every detector, so the runner can tell the kinds of failure apart."""


class NotApplicableError(ValueError):
    """The detector is undefined for this data (e.g. it needs collected anomalies and got none).

    The runner records such a job as ``n.a.``, not as a failure, as the paper's tables do.
    """


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or score; the message says where."""
