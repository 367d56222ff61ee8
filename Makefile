# Fangpin: `make run` starts everything, `make test` runs the tests. Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-sm4 lint format lock bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP) ## venv, install, embedded PostgreSQL, migrate, demo data, three services
	$(VENV)/bin/fangpin up

test: $(STAMP) ## the whole test suite against a real PostgreSQL
	$(PY) -m pytest

test-sm4: $(STAMP) ## the in-process suite again under the commercial-cryptography suite (SM4-GCM, HMAC-SM3)
	FANGPIN_PII_ALGORITHM=sm4 $(PY) -m pytest -m "not e2e" --ignore=tests/deploy

lint: $(STAMP) ## ruff check, ruff format --check, mypy, and the import contracts of pyproject.toml [tool.importlinter]
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: ## regenerate deploy/requirements.lock (hashed, every platform) from pyproject.toml; add --upgrade to bump
	$(PYTHON) -m venv /tmp/fangpin-lockvenv
	/tmp/fangpin-lockvenv/bin/pip install --quiet uv
	/tmp/fangpin-lockvenv/bin/uv pip compile pyproject.toml deploy/requirements-build.in \
		--generate-hashes --universal --python-version 3.11 \
		--no-header --annotation-style split -o deploy/requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
