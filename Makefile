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

# Unit tests, config corpus, and the real-binary network tests (root: netns).
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) build --locked
	$(CARGO) test --locked -- --test-threads=2

# One static, stripped musl binary: what goes on a router.
static: deps
	RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" \
	  $(CARGO) build --release --locked --target $(MUSL)
	@ls -l $(STATIC_BIN)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

demo: deps
	$(CARGO) build --release --locked --bin vigil --example demo
	target/release/examples/demo

clean:
	$(CARGO) clean
