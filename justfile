# coditect-conformance: build, run and report the licensed containers' conformance.
conformance := "cargo run --release --locked -q -p coditect-suites --bin coditect-conformance --"
# The images' version: the workspace's.
version := `sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1`
# The development signing key (made on first `just sign`); set CODITECT_SIGNING_KEY to use another.
signing_key := env_var_or_default("CODITECT_SIGNING_KEY", "target/coditect-keys/dev.key")

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

# Start a registry on 127.0.0.1:PORT with the built images pushed to it; Ctrl-C stops it.
registry port="5000":
    {{conformance}} registry --port {{port}}

# Sign IMAGE (REGISTRY/REPO:TAG) by digest, cosign's format, with the signing key and version=<workspace version>.
sign IMAGE *args:
    test -f {{signing_key}} || {{conformance}} keygen --out {{signing_key}}
    {{conformance}} sign {{IMAGE}} --key {{signing_key}} -a version={{version}} {{args}}

# Verify IMAGE like `cosign verify --key`: the signing key's public half and version=<workspace version>.
verify IMAGE *args:
    {{conformance}} verify {{IMAGE}} --key {{signing_key}}.pub -a version={{version}} {{args}}

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

# Benchmark the framework check at start (signature + digests) on the real tree and on FILES files.
bench-integrity files="5000":
    runtime/bench/integrity.sh {{files}}

# Heartbeat jitter over BEATS beats at 1 s (p50, p99, max, drift).
bench-jitter beats="100":
    runtime/bench/jitter.sh {{beats}}

# Soak: the licensed image beating every second for MINUTES; beats received and RSS over time.
soak minutes="10":
    runtime/bench/soak.sh {{minutes}}

# Run each fuzz target (config, response) for SECONDS on a copy of its seed corpus.
fuzz seconds="60":
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    fuzz/run.sh {{seconds}}

# Benchmark image builds: a warm rebuild with nothing changed, one framework file changed, the sizes.
bench-images:
    images/bench.sh

# Conformance wall time against one `docker exec` per check (the ADR's shell way), RUNS runs each.
bench-conformance runs="3":
    suites/bench/run.sh {{runs}}
