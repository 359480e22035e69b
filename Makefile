# vigil — see README.md. `make test` is the one test command.
CARGO      ?= cargo
MUSL       := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL)/release/vigil

.PHONY: all build test deps static fmt lint demo bench clean

all: build

build:
	$(CARGO) build --release --locked

deps:
	@sh tests/deps.sh

# Unit tests, the config corpus, fuzz smoke runs, and the real-binary tests
# (root: network namespaces, Debian's keepalived as a peer, a Debian kernel
# with IPVS under QEMU). The network and VM tests run the static build, the
# binary users deploy (VIGIL_BIN / VIGIL_STATIC_BIN).
test: deps
	@sh tests/deps.sh qemu static
	$(CARGO) fmt --all -- --check
	$(MAKE) --no-print-directory static
	$(CARGO) build --locked
	VIGIL_BIN=$(CURDIR)/$(STATIC_BIN) VIGIL_STATIC_BIN=$(CURDIR)/$(STATIC_BIN) \
	  $(CARGO) test --locked -- --test-threads=2
	$(MAKE) --no-print-directory fuzz-smoke
	$(CARGO) test --locked --features ssl --test ssl_get

# Router builds (packaging/cross/build.sh has the size recipe: opt-level z,
# LTO, panic=abort, stripped, std rebuilt without backtrace). Binaries land in
# $(CROSS_DIR)/<target>/release/vigil. Tools install on first use.
CROSS_TARGETS ?= aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl
CROSS_DIR     ?= $(or $(CARGO_TARGET_DIR),target)
.PHONY: cross size size-breakdown test-cross

# One static, stripped musl binary: what goes on a router.
static: deps
	@sh tests/deps.sh static
	sh packaging/cross/build.sh $(MUSL)
	@file $(CROSS_DIR)/$(MUSL)/release/vigil

# The same for the router architectures (armv7 and mips link with zig).
cross: deps
	@sh tests/deps.sh cross
	sh packaging/cross/build.sh $(CROSS_TARGETS)

# Sizes of what is built, per feature, and of Debian's keepalived: a README table.
size:
	@sh tests/deps.sh cross size
	@sh packaging/cross/size.sh $(MUSL) $(CROSS_TARGETS)

# Where the bytes go: crates, vigil modules and the largest functions of
# the x86_64 router build (README "Sizes").
size-breakdown:
	@sh tests/deps.sh static
	@sh packaging/cross/breakdown.sh $(MUSL)

# Each cross binary under qemu-user: -v, and -t on every conf/*.conf.
test-cross: static cross
	sh tests/cross.sh $(MUSL) $(CROSS_TARGETS)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

demo: deps
	$(CARGO) build --release --locked --bin vigil --example demo
	target/release/examples/demo

# Figures side by side with Debian's keepalived; writes bench-results.md.
bench: deps
	$(CARGO) build --release --locked --bin vigil --example bench
	target/release/examples/bench

# Fuzzing (cargo-fuzz on nightly, installed on first use): one target per
# parser of outside bytes, seeds in fuzz/corpus/<target>. No sanitizer: the
# parsers are safe Rust; overflow checks and debug assertions are on.
# `fuzz-smoke` (for `make test`) runs the committed seeds plus a few seconds
# each; both write new inputs under fuzz/target only;
# it builds unoptimised (-D), which builds in a fraction of the time.
# Crashes land in fuzz/artifacts/<target>/.
# `make fuzz`: FUZZ_RUNS executions of every target (libFuzzer's -runs),
# from its committed corpus; the executions, time and corpus size of each
# go to fuzz/target/fuzz-report.txt (README "Fuzzing" has the last figures).
FUZZ_RUNS ?= 10000000
FUZZ_TARGETS := vrrp_advert vrrp_ipv4 vrrp_instance config_load http_response smtp_check smtp_alert \
                netlink_route ipvs_reply dns_reply icmp_reply udp_reply proc_event
FUZZ_FLAGS   := --fuzz-dir fuzz -s none -a --codegen-units 16
# config_load runs the whole front end on every input, and tracing each of
# its comparisons took half the time: it is built without that, in its own
# target dir, and given every keyword as a dictionary instead
# (fuzz/config_load.dict, kept current by a unit test). It is still the
# slowest target by far, so `make fuzz` runs it on FUZZ_JOBS processes
# (libFuzzer's fork mode counts their executions together), stopping at a
# timeout or out-of-memory as well as a crash.
FUZZ_JOBS ?= 2
FUZZ_CONFIG_BUILD := --no-trace-compares --target-dir fuzz/target/no-trace-compares
FUZZ_CONFIG_DICT  := -dict=fuzz/config_load.dict
FUZZ_CONFIG_ARGS  := $(FUZZ_CONFIG_DICT) -fork=$(FUZZ_JOBS) -ignore_timeouts=0 -ignore_ooms=0
FUZZ_SMOKE_DIR ?= fuzz/target/smoke-corpus
FUZZ_REPORT  := fuzz/target/fuzz-report.txt
.PHONY: fuzz fuzz-smoke soak

fuzz:
	@sh tests/deps.sh fuzz
	$(CARGO) +nightly fuzz build $(FUZZ_FLAGS)
	@mkdir -p fuzz/target && : > $(FUZZ_REPORT)
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/corpus/$$t && build= && args= && \
	  if [ $$t = config_load ]; then build="$(FUZZ_CONFIG_BUILD)"; args="$(FUZZ_CONFIG_ARGS)"; fi && \
	  $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) $$build $$t fuzz/target/corpus/$$t fuzz/corpus/$$t -- \
	    $$args -runs=$(FUZZ_RUNS) -timeout=10 -print_final_stats=1 2> fuzz/target/$$t.log || \
	    { tail -40 fuzz/target/$$t.log; echo "fuzz: $$t crashed (fuzz/target/$$t.log)"; exit 1; }; \
	  printf '%-14s %s\n' $$t "$$(grep -E '^Done [0-9]+ runs|^INFO: fuzzed for [0-9]+ iterations' fuzz/target/$$t.log)" | tee -a $(FUZZ_REPORT); \
	done

fuzz-smoke:
	@sh tests/deps.sh fuzz
	$(CARGO) +nightly fuzz build $(FUZZ_FLAGS) -D
	for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_SMOKE_DIR)/$$t && mkdir -p $(FUZZ_SMOKE_DIR)/$$t && args= && \
	  if [ $$t = config_load ]; then args="$(FUZZ_CONFIG_DICT)"; fi && \
	  $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) -D $$t $(FUZZ_SMOKE_DIR)/$$t fuzz/corpus/$$t -- \
	    $$args -max_total_time=5 -timeout=10 || exit 1; \
	done

# A VRRPv3 pair at advert_int 0.01 with a SIGHUP every 10 s and a prober on
# every VIP; RSS and fds of every vigil process must stay flat (SOAK_SECONDS,
# SOAK_INSTANCES: a million adverts is SOAK_INSTANCES=4 SOAK_SECONDS=2600).
SOAK_SECONDS ?= 600
SOAK_INSTANCES ?= 1
soak: deps
	$(CARGO) build --release --locked --bin vigil --example soak
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_INSTANCES=$(SOAK_INSTANCES) $(or $(CARGO_TARGET_DIR),target)/release/examples/soak

clean:
	$(CARGO) clean
