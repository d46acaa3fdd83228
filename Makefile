# mvirt: the commands the README names. Meson + Ninja do the real work.
BUILD ?= build

.PHONY: all deps build demo check bench os clean

all: build

deps:
	./scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

demo: build
	./scripts/demo.sh $(BUILD)

check:
	./scripts/check.sh

bench: build
	./bench/run.sh $(BUILD)

os:
	MVIRT_BUILD=$(BUILD) ./os/build.sh $(BUILD)/guest

clean:
	rm -rf build build-asan build-fuzz build.*.log build-*.*.log
