# kpitree — `make run` (demo server) and `make test` (the whole suite). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_DEBUG ?= true

.PHONY: run test test-all setup messages makemessages lint bench browser-deps clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Compile translations with Babel (a pip package), so no system gettext is needed to run.
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --use-fuzzy -d locale -D django -l ja >/dev/null

setup: $(VENV)/.installed node_modules/.installed messages

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "kpitree is running on http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	@echo "Demo logins — password kpitree-demo (demo data only):"
	@echo "  executive  manager  member   (Demo Co.)     outsider  (Other Co.)"
	@echo ""
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Debian's Chromium drives the browser tests (Playwright cannot download browsers here); a
# Japanese font lets the screenshots of Japanese pages show real glyphs.
browser-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -n "$$(fc-list :lang=ja 2>/dev/null)" ] || missing="$$missing fonts-ipafont-gothic"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian packages for the browser tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "MISSING Debian packages:$$missing — install them with 'sudo apt-get install$$missing'."; \
	    echo "Without chromium the browser tests are skipped (and fail under CI=true)."; \
	  fi; \
	fi

test: setup browser-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

makemessages: $(VENV)/.installed
	$(PY) manage.py makemessages -l ja --no-obsolete --add-location file -i ".venv/*" -i "node_modules/*"

bench: setup
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) node_modules staticfiles
