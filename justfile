# coditect-conformance: build, run and report the licensed containers' conformance.
conformance := "cargo run --release --locked -q -p coditect-suites --bin coditect-conformance --"

# List the recipes.
default:
    @just --list

# Build every image (base, docker, workstation, local-dev), skipping those whose inputs did not change.
images:
    {{conformance}} images

# Run every conformance check on the built images (or CODITECT_IMAGE_*) and write reports/.
conformance *args:
    {{conformance}} run {{args}}

# List every check: ID, suite, title, requirement.
list:
    {{conformance}} list

# Build the Debian bookworm base OS from Debian's archive (debootstrap) and import it.
bootstrap-base:
    {{conformance}} bootstrap-base

# Run every test: the entrypoint's own, the harness's, and the image checks.
test:
    cargo test --workspace --locked

# Remove every container the harness started.
clean:
    {{conformance}} clean

# Lint and format checks.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Benchmark the entrypoint: size, start-to-validated latency, RSS and CPU during heartbeats.
bench-runtime seconds="20":
    runtime/bench/run.sh {{seconds}}

# Benchmark image builds: a warm rebuild with nothing changed, and the images' sizes.
bench-images:
    images/bench.sh
