# FrostServer's front door: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
COMPOSE := docker compose
TEST_COMPOSE := docker compose -f compose.yaml -f compose.test.yaml
HTTP_PORT := $(or $(FROST_HTTP_PORT),8080)

FLEET_COMPOSE := docker compose -f compose.yaml -f compose.fleet.yaml --profile fleet

# Other architectures (scripts/arch.sh): Debian's names, amd64 arm64 armhf.
ARCHS ?= arm64 armhf
ARCH ?= arm64

.PHONY: help provision build up down user token notify-test logs ps test lint unit integration sensors-goldens demo demo-restart \
        demo-notifications demo-logs demo-down dev \
        fleet fleet-down bench bench-history install-service uninstall-service clean build-arch test-arm bundle

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

provision: ## Install/start what the stack needs here: Docker engine, Compose v2, base image
	@scripts/provision.sh

build: provision ## Build the three images (with progress)
	$(COMPOSE) build

# When a container does not come up healthy, say which, with the end of its log (scripts/unhealthy.sh).
up: build ## Build and start the stack, wait until healthy, print the URL
	@echo "$(COMPOSE) up -d --wait"
	@$(COMPOSE) up -d --wait || { scripts/unhealthy.sh $(COMPOSE); exit 1; }
	@echo
	@echo "FrostServer is up:  http://localhost:$(HTTP_PORT)/"
	@ip -o -4 addr show scope global 2>/dev/null | awk '$$2 !~ /^(docker|br-|veth)/ {sub("/.*", "", $$4); print "  on your network:  http://" $$4 ":$(HTTP_PORT)/"}'
	@code=$$($(COMPOSE) exec -T app python -m frostserver.accounts setup-code 2>/dev/null | tail -n 1); \
	if [[ $$code =~ ^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$$ ]]; then \
	  echo; \
	  echo "Claim this device: open the page above and enter the setup code $$code"; \
	  echo "  (or, here: make user NAME=<you> ROLE=admin)"; \
	fi
	@echo
	@echo "Logs: make logs    Stop: make down"

# The accounts, through the running app container (python -m frostserver.accounts). The password
# is asked twice, or read from stdin when it is not a terminal: printf '%s\n' "$$PW" | make user ...
# -T when stdin is no terminal: docker compose exec would want one.
ACCOUNTS = $(COMPOSE) exec $$([ -t 0 ] || echo -T) app python -m frostserver.accounts

user: ## Make a user: make user NAME=ada ROLE=admin (or viewer); the password is asked for
	@[ -n "$(NAME)" ] || { echo "usage: make user NAME=<name> ROLE=admin|viewer" >&2; exit 2; }
	@$(ACCOUNTS) add "$(NAME)" --role "$(or $(ROLE),viewer)"

token: ## Make an API token: make token NAME=prometheus SCOPE=read (or write); printed once
	@[ -n "$(NAME)" ] && [ -n "$(SCOPE)" ] || { echo "usage: make token NAME=<name> SCOPE=read|write" >&2; exit 2; }
	@$(ACCOUNTS) token "$(NAME)" --scope "$(SCOPE)"

down: ## Stop and remove the stack's containers (keeps images)
	$(COMPOSE) down --remove-orphans

notify-test: ## Send a test notification to every [alerts] notify target of the running stack, print each result
	$(COMPOSE) exec app python -m frostserver.alerts.notifier --test

logs: ## Follow the stack's logs
	$(COMPOSE) logs -f --tail=100

ps: ## Show the stack's containers and their health
	$(COMPOSE) ps

$(VENV)/.installed: tests/requirements.txt services/app/requirements.txt
	@echo "==> creating the test virtualenv in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt -r services/app/requirements.txt
	@touch $@

# The dashboard's checks (ESLint, node --test) run on this machine's Node.js, 18.18 or newer
# (provision.sh --node installs Debian's, or says how); npm ci again whenever the lock changes.
WEB := services/web
.PHONY: web-lint web-unit
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	@scripts/provision.sh --node
	@echo "==> installing the dashboard's locked packages in $(WEB)/node_modules"
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: lint unit integration ## Run every check: lint and types, unit tests, then the real stack in Docker

lint: $(VENV)/.installed web-lint ## Lint and format-check (ruff) and type-check (mypy) the app and the scripts; lint the dashboard
	$(VENV)/bin/ruff check services/app scripts
	$(VENV)/bin/ruff format --check services/app scripts
	$(VENV)/bin/mypy

unit: $(VENV)/.installed web-unit ## Run the unit tests (no Docker): the dashboard's (node --test), then pytest
	$(PY) -m pytest tests/unit

web-lint: $(WEB)/node_modules/.installed ## Lint the dashboard's JavaScript (ESLint)
	cd $(WEB) && npm run --silent lint

web-unit: $(WEB)/node_modules/.installed ## Run the dashboard's unit tests (node --test)
	cd $(WEB) && npm test --silent

integration: $(VENV)/.installed build ## Run the integration tests against the real stack
	@scripts/provision.sh --tests >/dev/null
	TESTCONTAINERS_RYUK_DISABLED=true $(PY) -m pytest tests/integration

test-arm: $(VENV)/.installed ## Build for ARCHS (arm64 armhf) under QEMU and run the smoke tests on them (20 min cold; not in `make test`)
	scripts/arch.sh test $(ARCHS)

build-arch: ## Build the images for ARCH (arm64, armhf, amd64), tagged frostserver/<service>:ARCH
	scripts/arch.sh build $(ARCH)

bundle: ## Write dist/frostserver-ARCH.tar: the ARCH images and compose files, for a device offline
	scripts/arch.sh bundle $(ARCH)

sensors-goldens: build ## Re-record the real `sensors -j` goldens of the parity test (root, lm-sensors installed)
	scripts/record_sensors_goldens.py

demo: provision ## Run the stack on simulated sensors (tests/simulator.py): no hardware needed
	@scripts/demo.sh start

demo-restart: ## Restart the demo's app, e.g. after editing config/frostserver.demo.toml
	@scripts/demo.sh restart

demo-notifications: ## Show the notifications the demo's webhook receiver got
	@scripts/demo.sh notifications

demo-logs: ## Follow the demo stack's logs
	@scripts/demo.sh logs

demo-down: ## Stop the demo stack and its sensor simulator
	@scripts/demo.sh stop

dev: $(VENV)/.installed ## Run the app (Flask debug, auto-reload) and the dashboard (Vite) without Docker, over the simulator
	scripts/dev.sh

# Prints the ports as published: a .env file may have changed them.
fleet: provision ## Start the stack plus Prometheus with the alerts (127.0.0.1:9090) and Alertmanager (127.0.0.1:9093)
	$(FLEET_COMPOSE) up -d --build --wait
	@echo "Prometheus:   http://$$($(FLEET_COMPOSE) port prometheus 9090)/   alerts: /alerts"
	@echo "Alertmanager: http://$$($(FLEET_COMPOSE) port alertmanager 9093)/   receivers: FROST_ALERTMANAGER_CONFIG (README.md, \"Running a fleet\")"

fleet-down: ## Stop the stack, its Prometheus and Alertmanager (keeps their data volumes)
	$(FLEET_COMPOSE) down --remove-orphans

bench: $(VENV)/.installed build ## Benchmark against node_exporter on 16..1024-sensor trees (BENCHMARKS.md)
	@scripts/provision.sh --bench >/dev/null
	$(PY) scripts/bench.py
	$(MAKE) --no-print-directory bench-history

bench-history: $(VENV)/.installed ## History on disk at 256 sensors: bytes written a day, size at full retention, a day's answer
	$(PY) scripts/bench_history.py
	$(PY) scripts/bench.py --report-only >/dev/null  # BENCHMARKS.md shows benchmarks-history.json's new figures

install-service: ## Start the stack at boot with a systemd unit (run `make up` once first)
	@scripts/service.sh install

uninstall-service: ## Remove the systemd unit (and stop the stack)
	@scripts/service.sh uninstall

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
