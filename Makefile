# Fan networking: the targets a user and CI run. Every target installs what
# it needs first (make deps), so a fresh machine needs nothing else.
#
#   make demo          the announcement's demo, in the VM
#   make test          lint, cargo tests, fuzzing, then every VM test; one summary
#                      line (DEBUG=1: the VM tests on the debug kernel; KERNEL=
#                      as for make kmod)
#   make bench         the fan against Linux's ipip and no tunnel (BENCHMARKS.md)
#   make kernel        the test kernel (DEBUG=1: KASAN, lockdep, kmemleak)
#   make kmod          the kernel module, against the test kernel
#                      (KERNEL=6.12, the default, or KERNEL=7.3: qemu/kernel)
#   make fanctl        the host tool, in target/release/fanctl
#   make iproute2      the patched `ip`, in build/ip
#   make iproute2-deb  Debian's iproute2 package with the fan patches, in
#                      build/iproute2-deb (cached: a cold build takes minutes)
#   make deb           the Debian packages fanctl and fan-dkms, in build/deb
#   make lint          rustfmt and clippy, userspace and kernel

DEBUG ?= 0
KERNEL ?= 6.12
# qemu/kernel, qemu/run and the tests follow FAN_KERNEL: one kernel for a
# whole make run (make test KERNEL=7.3, make bench KERNEL=7.3).
export FAN_KERNEL := $(KERNEL)
KERNEL_FLAGS := --kernel $(KERNEL) $(if $(filter 1,$(DEBUG)),--debug)
KDIR = $$(qemu/kernel $(KERNEL_FLAGS) dir)
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all deps kernel kmod iproute2 iproute2-deb fanctl deb test demo bench lint clean

all: kmod

deps:
	@scripts/deps

kernel: deps
	@qemu/kernel $(KERNEL_FLAGS) build >/dev/null

kmod: kernel
	@kdir=$(KDIR) && vars=$$(kmod/kbuild-vars "$$kdir") && $(MAKE) -s -C "$$kdir" M=$(CURDIR) $$vars modules

iproute2: deps
	@iproute2-patch/build.sh build >/dev/null

iproute2-deb: deps
	@rm -rf build/iproute2-deb && mkdir -p build/iproute2-deb
	@cp "$$(iproute2-patch/build-deb.sh)" build/iproute2-deb/

fanctl: deps
	@cargo build --quiet --release -p fanctl

deb: fanctl
	@packaging/build-debs

test: kmod iproute2 iproute2-deb fanctl
	@FAN_DEBUG=$(DEBUG) tests/run

demo: kmod fanctl iproute2
	@qemu/run -- tests/demo.sh

bench: kmod fanctl iproute2
	@bench/run

lint: kernel
	@tests/lint

clean:
	@kdir=$(KDIR) && vars=$$(kmod/kbuild-vars "$$kdir") && $(MAKE) -s -C "$$kdir" M=$(CURDIR) $$vars clean || true
	cargo clean
