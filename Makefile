# After-sales platform. Fresh machine: `make run` (platform) or `make test` (tests).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
KAFKA_LIBS := $(CURDIR)/.cache/kafka/libs
PYTEST_ARGS ?=

.PHONY: deps system-deps python-deps kafka-jars run test token stack-up stack-down events-schema \
        bench-bus bench-intake bench-dispatch bench-parts bench-settlement bench-notify simulate compose-check

deps: system-deps python-deps kafka-jars

# apt packages: PostgreSQL server, JDK + Maven, compose parser, Prometheus (promtool) — only if missing.
system-deps:
	@bash deploy/install-system-deps.sh

python-deps:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet "uv==0.9.9"
	@$(UV) sync --frozen --quiet

kafka-jars:
	@if ! ls $(KAFKA_LIBS)/kafka_2.13-*.jar >/dev/null 2>&1; then \
	  echo "resolving Kafka broker jars with Maven"; \
	  mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=$(KAFKA_LIBS); fi

run: deps
	@$(UV) run python -m aftersales_shared.devstack run

test: deps
	@$(UV) run pytest $(PYTEST_ARGS)

stack-up: deps
	@$(UV) run python -m aftersales_shared.devstack up

stack-down:
	@$(UV) run python -m aftersales_shared.devstack down

ROLE ?= call_center
SUB ?= user-1
token: python-deps
	@$(UV) run python -m aftersales_shared.devtoken --role "$(ROLE)" --sub "$(SUB)" $(if $(DEALER),--dealer-id "$(DEALER)") $(if $(ENGINEER),--engineer-id "$(ENGINEER)")

events-schema: python-deps
	@$(UV) run python -m aftersales_shared.events.export docs/events

compose-check:
	@docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

bench-bus: deps
	@$(UV) run python -m benchmarks.bench_bus && $(UV) run python -m benchmarks.report
bench-intake: deps
	@$(UV) run python -m benchmarks.bench_intake && $(UV) run python -m benchmarks.report
bench-dispatch: deps
	@$(UV) run python -m benchmarks.bench_dispatch && $(UV) run python -m benchmarks.report
bench-parts: deps
	@$(UV) run python -m benchmarks.bench_parts && $(UV) run python -m benchmarks.report
bench-settlement: deps
	@$(UV) run python -m benchmarks.bench_settlement && $(UV) run python -m benchmarks.report
bench-notify: deps
	@$(UV) run python -m benchmarks.bench_notify && $(UV) run python -m benchmarks.report
simulate: python-deps
	@$(UV) run python -m benchmarks.simulate $(SIM_ARGS)
