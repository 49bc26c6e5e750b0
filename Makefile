# Fan networking: the targets a user and CI run. Every target installs what
# it needs first (make deps), so a fresh machine needs nothing else.
#
#   make demo          the announcement's demo, in the VM
#   make test          lint, cargo tests, fuzzing, DKMS, then every VM test, on
#                      6.12 and 7.3 (KERNELS=6.12: on one); one summary line
#                      (DEBUG=1: the VM tests on the debug 6.12 kernel)
#   make bench         the fan against Linux's ipip and no tunnel (BENCHMARKS.md)
#   make kernel        the test kernel (DEBUG=1: KASAN, lockdep, kmemleak)
#   make kmod          the kernel module for a test kernel, in build/kmod/KERNEL
#                      (KERNEL=6.12, the default, or KERNEL=7.3: qemu/kernel)
#   make fanctl        the host tool, in target/release/fanctl
#   make iproute2      the patched `ip`, in build/ip
#   make iproute2-deb  Debian's iproute2 package with the fan patches, in
#                      build/iproute2-deb (cached: a cold build takes minutes)
#   make deb           the Debian packages fanctl and fan-dkms, in build/deb
#   make lint          rustfmt and clippy, userspace and kernel (KERNELS)

DEBUG ?= 0
KERNEL ?= 6.12
# make test's kernels: both, the VM tests of each in a guest of its own
# beside the other's (KERNELS=6.12: one; what a run takes: README, Kernels).
# DEBUG=1: 6.12 alone, the one debug kernel (7.3 is GCC-built, and Rust
# excludes KASAN there).
KERNELS ?= $(if $(filter 1,$(DEBUG)),6.12,6.12 7.3)
# qemu/kernel, qemu/run and the tests follow FAN_KERNEL: one kernel for a
# whole make run (make bench KERNEL=7.3); make test goes through FAN_KERNELS.
export FAN_KERNEL := $(KERNEL)
export FAN_KERNELS := $(KERNELS)
DEBUG_FLAG := $(if $(filter 1,$(DEBUG)),--debug)
KERNEL_FLAGS := --kernel $(KERNEL) $(DEBUG_FLAG)
KDIR = $$(qemu/kernel $(KERNEL_FLAGS) dir)
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all deps kernel kernels kmod kmods iproute2 iproute2-deb fanctl deb test demo bench lint clean

all: kmod

deps:
	@scripts/deps

kernel: deps
	@qemu/kernel $(KERNEL_FLAGS) build >/dev/null

kmod: kernel
	@scripts/build-kmod $(KERNEL_FLAGS) >/dev/null

# Each of make test's kernels, and its module.
kernels: deps
	@for k in $(KERNELS); do qemu/kernel --kernel $$k $(DEBUG_FLAG) build >/dev/null || exit 1; done

kmods: kernels
	@for k in $(KERNELS); do scripts/build-kmod --kernel $$k $(DEBUG_FLAG) >/dev/null || exit 1; done

iproute2: deps
	@iproute2-patch/build.sh build >/dev/null

iproute2-deb: deps
	@rm -rf build/iproute2-deb && mkdir -p build/iproute2-deb
	@cp "$$(iproute2-patch/build-deb.sh)" build/iproute2-deb/

fanctl: deps
	@cargo build --quiet --release -p fanctl

deb: fanctl
	@packaging/build-debs

test: kmods iproute2 iproute2-deb fanctl
	@FAN_DEBUG=$(DEBUG) tests/run

demo: kmod fanctl iproute2
	@qemu/run -- tests/demo.sh

bench: kmod fanctl iproute2
	@bench/run

lint: kernels
	@tests/lint

clean:
	rm -rf build/kmod
	cargo clean
