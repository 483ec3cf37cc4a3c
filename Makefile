# `make demo` and `make test` set everything up in .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= lgn-out
export OMP_WAIT_POLICY := PASSIVE

.PHONY: setup demo test test-fast clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lgn run --preset digits-lut --out $(OUT)

# pytest exits 5 when it collected no tests: that is a broken suite, not a pass.
test: $(STAMP)
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The unit tests only (no Yosys, nextpnr, simulator or lgn subprocess): for iteration.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
