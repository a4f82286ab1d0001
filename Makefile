# make test is how CI and developers run the tests: it installs what they
# need (scripts/deps.sh), vets, and runs every test, integration ones included.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO ?= go
NIX_OPTIONS := --option substituters '' --option sandbox true

.PHONY: bunix image boot-example deps test fuzz fmt vet clean

# bunix: the static binary, as out/bin/bunix (out is the prefix Nix takes).
# On a Go cache without bunix's modules, the first build fetches them and
# compiles everything, silent for a minute or two: say so first.
bunix:
	@GOPROXY=off GOFLAGS=-mod=mod $(GO) list -deps ./cmd/bunix >/dev/null 2>&1 || \
		echo "make bunix: Go is fetching bunix's modules and compiling it for the first time: this takes a minute or two" >&2
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o out/bin/bunix ./cmd/bunix

# ARGS: the args file `make image` builds; a relative path is relative to
# this directory (make -C /path/to/bunix image ARGS=$PWD/args.nix from elsewhere).
ARGS ?= args.nix

# image: the image of $(ARGS), built by Nix with out/bin/bunix, as ./result.
# The evaluation runs first, under BUNIX_EVAL_MEMORY and BUNIX_EVAL_TIMEOUT
# (scripts/nix-eval.sh); the build then runs with no cap.
image:
	@test -f "$(abspath $(ARGS))" || { echo "make image: ARGS=$(ARGS): no such file ($(abspath $(ARGS)))" >&2; exit 2; }
	scripts/deps.sh nix
	$(MAKE) bunix
	drv=$$(scripts/nix-eval.sh "$(ARGS)" default.nix --arg bunix "$(CURDIR)/out" --argstr args "$(abspath $(ARGS))" $(NIX_OPTIONS)) && \
	nix-build "$$drv" $(NIX_OPTIONS)
	@echo "make image: built $(ARGS) as $(CURDIR)/result: docker load < $(CURDIR)/result"

# boot-example: builds examples/linux-boot (Debian's kernel, a Go /init in a
# bunix initrd) with nix-build and boots it under qemu as urunc would.
boot-example:
	GO="$(GO)" examples/linux-boot/boot.sh

deps:
	scripts/deps.sh

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...

# fuzz: every native fuzz target for FUZZTIME (default 10s) each, as CI does.
fuzz:
	scripts/fuzz.sh

fmt:
	gofmt -l -w .

vet:
	$(GO) vet ./...

clean:
	rm -rf out result result-* examples/linux-boot/vmlinuz examples/linux-boot/init examples/linux-boot/result
