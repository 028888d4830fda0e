# The two commands of the README, and a few helpers. Everything real lives in CMake and scripts/.
#
#   make demo   install what is needed, build, train a small GPT for about a minute on text attn makes
#               itself, generate from it (writes out/demo/: checkpoint, metrics.jsonl, loss.png)
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
	$(BUILD)/tools/attn/attn demo-text --out out/demo/text.txt
	OMP_WAIT_POLICY=PASSIVE $(BUILD)/tools/attn/attn train --data out/demo/text.txt --config nanogpt-cpu --steps 1500 \
		--warmup 100 --lr 2e-3 --min-lr 2e-4 --eval-interval 250 --max-seconds 60 --out out/demo --overwrite
	OMP_WAIT_POLICY=PASSIVE $(BUILD)/tools/attn/attn generate --checkpoint out/demo --prompt "ALICE:" --max-tokens 300 \
		--temperature 0.8 --top-k 10 --seed 1
	@echo "loss curve: out/demo/loss.png; the attention showcase: $(BUILD)/tools/attn/attn attention --demo --out out/attention"

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
