"""`st` (schemathesis's CLI) for .ci/schemathesis, with one guard around Hypothesis.

On Python 3.11 parsing a large module with `ast` can fail with SystemError "AST constructor
recursion depth mismatch" (CPython gh-106905, fixed in later 3.11 releases). Hypothesis parses
schemathesis's own modules only to *describe* a lambda in its reports, and the error ends the
run as a "Runtime Error" that says nothing about our API. Here such a description falls back to
Hypothesis's own "<unknown>" form; everything else runs as `st` does."""

import sys

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources._lambda_description


def _describe_or_unknown(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_or_unknown

if __name__ == "__main__":
    from schemathesis.cli import schemathesis

    sys.argv[0] = "st"
    sys.exit(schemathesis())
