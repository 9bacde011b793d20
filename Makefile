# After-sales platform. Fresh machine: `make run` (platform) or `make test` (lint + tests).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# uv is located (and pip-installed if missing) by deploy/uv.sh each time a recipe runs it, never when make
# starts: on a fresh machine `python-deps` installs uv and the very next line finds it, wherever pip put it.
UV ?= bash $(CURDIR)/deploy/uv.sh
KAFKA_LIBS ?= $(CURDIR)/.cache/kafka/libs
export KAFKA_LIBS
PYTEST_ARGS ?=
UV_SYNC_ARGS ?=
# SKIP_LINT=1 runs the tests without the lint step (e.g. a second run in the same checkout)
SKIP_LINT ?=
TEST_STATE := $(CURDIR)/.state/test

.PHONY: deps system-deps python-deps kafka-jars run test lint token stack-up stack-down stack-status \
        test-stack-down events-schema bench-bus bench-intake bench-dispatch bench-sla bench-parts bench-settlement \
        bench-planner bench-planner-scale bench-live-insert bench-notify simulate compose-check dlq-list dlq-replay fuzz

deps: system-deps python-deps kafka-jars

# apt packages: PostgreSQL server, JDK + Maven, compose parser, Prometheus (promtool) — only if missing.
system-deps:
	@bash deploy/install-system-deps.sh

python-deps:
	@$(UV) sync --frozen --quiet $(UV_SYNC_ARGS)

kafka-jars:
	@if ! ls $(KAFKA_LIBS)/kafka_2.13-*.jar >/dev/null 2>&1; then \
	  echo "resolving Kafka broker jars with Maven"; \
	  mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=$(KAFKA_LIBS); fi

# the platform on the `make run` stack (.state/run); the tests use their own (.state/test)
run: deps
	@$(UV) run python -m aftersales_shared.dev.runner

# ruff + mypy + the import contracts, then the suite on the tests' own stack (removed afterwards unless KEEP_STACK=1)
test: deps $(if $(SKIP_LINT),,lint)
	@$(UV) run pytest $(PYTEST_ARGS)

# all three run, so one pass shows every finding; the target fails if any did
lint: python-deps
	@rc=0; \
	echo "lint: ruff check ." && { $(UV) run ruff check . --output-format concise || rc=1; }; \
	echo "lint: mypy" && { $(UV) run mypy || rc=1; }; \
	echo "lint: import contracts" && { $(UV) run lint-imports || rc=1; }; \
	exit $$rc

stack-up: deps
	@$(UV) run python -m aftersales_shared.dev.devstack up

stack-down:
	@$(UV) run python -m aftersales_shared.dev.devstack down

stack-status:
	@$(UV) run python -m aftersales_shared.dev.devstack status

# stop the tests' stack left running by KEEP_STACK=1 and delete its state
test-stack-down:
	@AFTERSALES_STATE_DIR=$(TEST_STATE) $(UV) run python -m aftersales_shared.dev.devstack destroy

ROLE ?= call_center
SUB ?= user-1
token: python-deps
	@$(UV) run python -m aftersales_shared.dev.devtoken --role "$(ROLE)" --sub "$(SUB)" $(if $(DEALER),--dealer-id "$(DEALER)") $(if $(ENGINEER),--engineer-id "$(ENGINEER)")

events-schema: python-deps
	@$(UV) run python -m aftersales_shared.events.export docs/events

compose-check:
	@docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

# benchmarks use the `make run` stack: started if needed, left as they found it
bench-bus: deps
	@$(UV) run python -m benchmarks.bench_bus && $(UV) run python -m benchmarks.report
bench-intake: deps
	@$(UV) run python -m benchmarks.bench_intake && $(UV) run python -m benchmarks.report
bench-dispatch: deps
	@$(UV) run python -m benchmarks.bench_dispatch && $(UV) run python -m benchmarks.report
# the SLA watcher with 100,000 open jobs vs today's scan on the same data (issue 14, item 5)
bench-sla: deps
	@$(UV) run python -m benchmarks.bench_sla $(BENCH_ARGS) && $(UV) run python -m benchmarks.report
bench-parts: deps
	@$(UV) run python -m benchmarks.bench_parts && $(UV) run python -m benchmarks.report
bench-settlement: deps
	@$(UV) run python -m benchmarks.bench_settlement && $(UV) run python -m benchmarks.report
SERVICE ?=
dlq-list: python-deps
	@$(UV) run python -m aftersales_shared.dev.dlq list "$(SERVICE)"
dlq-replay: python-deps
	@$(UV) run python -m aftersales_shared.dev.dlq replay "$(SERVICE)"
# a longer API fuzz with a random seed (the suite runs a bounded, derandomized one)
fuzz: deps
	@FUZZ_RANDOM=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-150} FUZZ_NARROW_EXAMPLES=$${FUZZ_NARROW_EXAMPLES:-25} \
	  $(UV) run pytest tests/api/test_openapi_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)
bench-planner: python-deps
	@$(UV) run python -m benchmarks.bench_planner $(BENCH_ARGS)
bench-planner-scale: deps
	@$(UV) run python -m benchmarks.bench_planner_scale $(BENCH_ARGS)
bench-live-insert: deps
	@$(UV) run python -m benchmarks.bench_live_insert $(BENCH_ARGS)
bench-notify: deps
	@$(UV) run python -m benchmarks.bench_notify && $(UV) run python -m benchmarks.report
simulate: python-deps
	@$(UV) run python -m benchmarks.simulate $(SIM_ARGS)
