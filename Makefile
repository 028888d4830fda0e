# The two commands of the README, and a few helpers. Everything real lives in CMake and scripts/.
#
#   make demo   install what is needed, build, run the attention showcase (writes out/demo/)
#   make test   install what is needed, fetch the real models, build, run every test

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps models build demo test asan bench clean

deps:
	bash scripts/install-deps.sh

models:
	bash scripts/fetch-models.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/tools/attn/attn attention --demo --out out/demo

test: build models
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@if [ -x scripts/fuzz-smoke.sh ]; then bash scripts/fuzz-smoke.sh; fi

asan: deps
	cmake --preset asan
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

bench: build
	bash scripts/bench-setup.sh
	$(BUILD)/bench/bench_attention

clean:
	rm -rf $(BUILD) build-asan out
