# hoist: two commands for a new user — `make demo` and `make test`.
JOBS ?= 2
TEST_BUILD := build/test
RELEASE_BUILD := build/release
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: setup demo test build release bench clean format

setup:
	bash scripts/setup.sh

# The test build carries AddressSanitizer and UndefinedBehaviorSanitizer.
$(TEST_BUILD)/build.ninja:
	cmake -S . -B $(TEST_BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DHOIST_SANITIZE=ON -DHOIST_BUILD_BENCH=OFF \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"

$(RELEASE_BUILD)/build.ninja:
	cmake -S . -B $(RELEASE_BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOIST_BUILD_TESTS=OFF

build: setup $(TEST_BUILD)/build.ninja
	cmake --build $(TEST_BUILD) -j $(JOBS)

release: setup $(RELEASE_BUILD)/build.ninja
	cmake --build $(RELEASE_BUILD) -j $(JOBS)

test: build
	cd $(TEST_BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 900

demo: setup $(RELEASE_BUILD)/build.ninja
	cmake --build $(RELEASE_BUILD) -j $(JOBS) --target hoist hoist-populator hoist-controller hoist_vcsim
	bash scripts/demo.sh $(RELEASE_BUILD)

bench: release
	bash bench/run.sh $(RELEASE_BUILD)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
