#!/usr/bin/env bash
# Pipeline bench (see host/benches/pipeline.rs): needs `make build plugins services`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo bench -j2 -p sluice-host --bench pipeline
