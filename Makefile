# Holter edge analytics: set-up and everyday commands.
#
#   make demo    create .venv (first run), install, analyse the bundled sample
#   make test    create .venv (first run), install, run the test suite
#
# Only Python >= 3.11, pip and make are needed. Override the interpreter with
# `make PYTHON=python3.12 ...`; pass pytest options with `make test PYTEST_ARGS="-k detect"`.

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
# Re-installs whenever pyproject.toml changes (its mtime is newer than the stamp).
STAMP       := $(VENV)/.installed
PIP_FLAGS   ?=
PYTEST_ARGS ?=
# Where the PhysioNet databases live (DESIGN.md): $HOLTER_PHYSIONET_DIR, else
# ../shared/data/physionet beside the checkout.
PHYSIONET_DIR := $(or $(HOLTER_PHYSIONET_DIR),$(abspath $(CURDIR)/../shared/data/physionet))
DATABASES   := mitdb nstdb qtdb chf2db nsr2db

.DEFAULT_GOAL := help
.PHONY: help demo test data bench lint clean distclean chromium

help: ## list the targets
	@echo "Holter edge analytics. Targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Set-up is automatic: demo, test, bench and lint create $(VENV) and install the package first."

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Python >= 3.11 is needed; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo 'not found')." >&2; \
	  echo "       Install Python 3.11+ and run, for example: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; \
	  exit 1; }
	@echo "Creating the virtual environment $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt install python3-venv)." >&2; \
	  rm -rf $(VENV); exit 1; }

$(STAMP): pyproject.toml | $(VPY)
	@$(VPY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: $(VENV) runs $$($(VPY) --version); Python >= 3.11 is needed. Run 'make distclean' and retry." >&2; \
	  exit 1; }
	@echo "Installing holter-edge and its dev tools into $(VENV) (pip install -e '.[dev]')"
	$(VPY) -m pip install --quiet $(PIP_FLAGS) -e '.[dev]'
	@touch $@

demo: $(STAMP) ## the whole loop on a bundled record: device -> gateway -> MQTT -> aggregator -> dashboard
	$(VENV)/bin/holter demo

# The dashboard browser test (tests/cloud/test_dashboard_browser.py) drives Debian's
# Chromium through Playwright; Playwright's own browser downloads are never used.
# Installed only when /usr/bin/chromium is missing (sudo -n when not root). If that
# fails, CI (HOLTER_REQUIRE_DATA set) stops here; elsewhere the browser test skips.
chromium: ## install Debian's chromium for the dashboard browser test, if missing
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the dashboard browser test (apt-get install -y chromium)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  if command -v apt-get >/dev/null 2>&1 && { $$SUDO apt-get install -y chromium \
	       || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; } && [ -x /usr/bin/chromium ]; then \
	    echo "chromium installed: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	  else \
	    case "$${HOLTER_REQUIRE_DATA:-}" in ""|0|false|no) \
	      echo "warning: could not install chromium; the dashboard browser test will skip" >&2 ;; \
	    *) echo "error: could not install Debian's chromium (apt-get install -y chromium), which the" \
	            "dashboard browser test needs; HOLTER_REQUIRE_DATA is set, so this is fatal" >&2; exit 1 ;; \
	    esac; \
	  fi; \
	fi

test: $(STAMP) chromium ## run the test suite (PhysioNet tests skip when the data are missing)
	$(VPY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) ## QRS accuracy (EC57) and speed on MIT-BIH, side by side with peers
	$(VENV)/bin/holter bench qrs --peers

lint: $(STAMP) ## ruff check
	$(VENV)/bin/ruff check .

# Downloads one database (argv: name, folder) into "<folder>.partial" (kept, so
# a rerun resumes) and moves the files into place only once it is complete.
define DOWNLOAD_PY
import pathlib, shutil, sys
import wfdb
db, dest = sys.argv[1], pathlib.Path(sys.argv[2])
partial = dest.with_name(dest.name + ".partial")
try:
    wfdb.dl_database(db, dl_dir=str(partial))
except Exception as exc:
    reason = " ".join(str(exc).split())[:200]
    sys.exit(f"error: could not download {db} from PhysioNet (is there internet access?): {type(exc).__name__}: {reason}")
dest.mkdir(parents=True, exist_ok=True)
for item in partial.iterdir():
    shutil.move(str(item), str(dest / item.name))
partial.rmdir()
endef
export DOWNLOAD_PY

data: $(STAMP) ## download the PhysioNet databases into $HOLTER_PHYSIONET_DIR (needs internet)
	@echo "PhysioNet databases -> $(PHYSIONET_DIR)"
	@mkdir -p "$(PHYSIONET_DIR)"
	@for db in $(DATABASES); do \
	  if ls "$(PHYSIONET_DIR)/$$db"/*.hea >/dev/null 2>&1; then \
	    echo "  $$db: already there, skipped (delete the folder to download it again)"; \
	  else \
	    echo "  $$db: downloading from PhysioNet ..."; \
	    $(VPY) -c "$$DOWNLOAD_PY" "$$db" "$(PHYSIONET_DIR)/$$db" || exit 1; \
	  fi; \
	done
	@echo "Done. Tests and benchmarks find the data through HOLTER_PHYSIONET_DIR=$(PHYSIONET_DIR)"

clean: ## remove caches and build files (keeps .venv)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis holter-demo
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.nbi' -o -name '*.nbc' \) -print \
	  | xargs rm -rf

distclean: clean ## also remove the virtual environment .venv
	rm -rf $(VENV)
