# shoal: a thin front for meson + ninja.  Every target first makes sure the
# Debian packages it needs are present (scripts/deps.sh is quick when they
# are).

BUILD      ?= build
ASAN       ?= build-asan
TSAN       ?= build-tsan
FUZZ       ?= build-fuzz
FUZZ_SECONDS ?= 60
PYTEST     ?= /usr/bin/python3 -m pytest
MESON      ?= meson
# A race report stops the process with status 66: the node dies, and the
# test that drove it fails.
TSAN_OPTIONS ?= halt_on_error=1 exitcode=66 second_deadlock_stack=1

.PHONY: all deps run test unit e2e chaos fuzz bench format clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

$(ASAN)/build.ninja: | deps
	$(MESON) setup $(ASAN) --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false

$(TSAN)/build.ninja: | deps
	$(MESON) setup $(TSAN) --buildtype=debug \
	    -Db_sanitize=thread -Db_lundef=false

$(FUZZ)/build.ninja: | deps
	CC=clang $(MESON) setup $(FUZZ) --buildtype=debugoptimized -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

run: all
	@scripts/run.sh

unit: all $(ASAN)/build.ninja $(TSAN)/build.ninja
	$(MESON) test -C $(BUILD) --print-errorlogs
	ninja -C $(ASAN)
	$(MESON) test -C $(ASAN) --print-errorlogs
	ninja -C $(TSAN)
	TSAN_OPTIONS="$(TSAN_OPTIONS)" $(MESON) test -C $(TSAN) --print-errorlogs

# The whole suite against the normal build, then most of it again against
# the AddressSanitizer build, then the cluster, FTP, HTTP and replica
# suites against the ThreadSanitizer build (not the memory-ceiling test:
# the sanitizers' own bookkeeping is what it would measure).
e2e: all $(ASAN)/build.ninja $(TSAN)/build.ninja
	$(PYTEST) -q tests/e2e
	$(PYTEST) -q tests/faults
	ninja -C $(ASAN)
	SHOAL_BIN=$(CURDIR)/$(ASAN)/shoal ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    $(PYTEST) -q tests/e2e/test_ftp_commands.py \
	    tests/e2e/test_peer_input.py tests/e2e/test_cluster.py \
	    tests/e2e/test_http_api.py tests/e2e/test_client.py \
	    tests/e2e/test_tracker_input.py \
	    tests/e2e/test_access.py tests/e2e/test_ftp_protocol.py \
	    tests/e2e/test_sync_defects.py tests/e2e/test_store_defects.py \
	    tests/e2e/test_s3_api.py tests/e2e/test_s3_signatures.py \
	    tests/e2e/test_s3_cluster.py tests/e2e/test_rot.py \
	    tests/e2e/test_versions.py \
	    -k "not large_upload_is_streamed"
	SHOAL_BIN=$(CURDIR)/$(ASAN)/shoal ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    $(PYTEST) -q tests/e2e/test_replicas.py \
	    -k "reads_on_a_node or kill_one_holder or both_holders_killed"
	ninja -C $(TSAN)
	# Not under TSan: test_status_while_many_conflicts_are_decided, an open
	# defect (one of the 1000 conflicted files sometimes stays different on
	# the two nodes when the node is slowed down this much); the normal run
	# above still runs it.
	SHOAL_BIN=$(CURDIR)/$(TSAN)/shoal TSAN_OPTIONS="$(TSAN_OPTIONS)" \
	    $(PYTEST) -q tests/e2e/test_cluster.py \
	    tests/e2e/test_ftp_commands.py tests/e2e/test_http_api.py \
	    tests/e2e/test_s3_api.py \
	    tests/e2e/test_s3_signatures.py tests/e2e/test_rot.py \
	    tests/e2e/test_versions.py \
	    -k "not large_upload_is_streamed and not many_conflicts"
	SHOAL_BIN=$(CURDIR)/$(TSAN)/shoal TSAN_OPTIONS="$(TSAN_OPTIONS)" \
	    $(PYTEST) -q tests/e2e/test_replicas.py \
	    -k "reads_on_a_node or rename_on_a_node or append_and_resume"

test: unit e2e

# Seeded fault injection (tests/faults/chaos.py): SEED=N runs that seed's
# workload and fault schedule again (the timing of each run still varies);
# MINUTES=M keeps starting new seeds until M minutes have passed.
SEED       ?=
NODES      ?= 3
CHAOS_SECONDS ?= 30
MINUTES    ?= 0
# KINDS=all (or a list: skew,slow,oneway) adds the faults the fixed seeds
# do not draw from; REPLICAS=N keeps N copies of each file; TRACKER=1
# starts a tracker, through which the nodes find each other.
KINDS      ?=
REPLICAS   ?=
TRACKER    ?=
chaos: all
	/usr/bin/python3 tests/faults/chaos.py $(if $(SEED),--seed $(SEED)) \
	    --nodes $(NODES) --seconds $(CHAOS_SECONDS) --minutes $(MINUTES) \
	    $(if $(KINDS),--kinds $(KINDS)) \
	    $(if $(REPLICAS),--replicas $(REPLICAS)) $(if $(TRACKER),--tracker)

fuzz: $(FUZZ)/build.ninja
	ninja -C $(FUZZ)
	scripts/fuzz.sh $(FUZZ) $(FUZZ_SECONDS)

bench: all
	/usr/bin/python3 bench/run.py

format:
	clang-format -i $$(find src tests/unit fuzz -name '*.[ch]')

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) $(FUZZ)
