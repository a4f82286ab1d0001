#!/usr/bin/env bash
# docs-check.sh: run every shell command README.md and docs/*.md show (the
# sh and console blocks not marked <!-- docs-check: skip REASON -->), with
# a freshly built bunix on PATH, and compare what each prints with what the
# docs show. make test runs the same test among the others; this runs it
# alone, e.g. after docs change.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${GO:-go}" test -count=1 -run 'TestDocCommands|TestMatches' -v ./docs "$@"
