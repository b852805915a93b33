# coditect-conformance: build, run and report the licensed containers' conformance.

# List the recipes.
default:
    @just --list

# Run every test: the runtime's own and the conformance suites.
test:
    cargo test --workspace --locked

# Lint and format checks, as CI would want them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Benchmark the entrypoint: size, start-to-validated latency, RSS and CPU during heartbeats.
bench-runtime seconds="20":
    runtime/bench/run.sh {{seconds}}
