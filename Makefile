# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tgdfer-installed
# decord (the faster mp4 decoder) has wheels for x86_64 Linux only: there the tests cover it too; PyAV everywhere
comma  := ,
EXTRAS := dev$(if $(filter Linux-x86_64,$(shell uname -s)-$(shell uname -m)),$(comma)decord,)

.PHONY: install demo regenerate regenerate-meaning tune test notebooks clean-build

# The pinned torch (2.14.1) is PyPI's CUDA build on x86_64: the environment takes about 6.5 GB, so check the disk first.
NEED_GB ?= 7
$(STAMP): pyproject.toml study/pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -c "import shutil, sys; free = shutil.disk_usage('.').free / 2**30; \
	sys.exit(0 if free >= $(NEED_GB) else 'error: the install needs about $(NEED_GB) GB free here (the CUDA build of torch ' \
	'and its libraries); this disk has %.1f GB free. Free some space (old clones, .venv folders, data/, runs/) and rerun.' % free)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]' -e study -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

# The embedded pipeline on the generated benchmark (CPU, tiny backbone): build/demo/, nothing committed changes.
demo: $(STAMP)
	$(BIN)/python -m tgdfer_study demo

# The committed records, tables and figures from nothing: the evaluation draw's whole plan, the replication draw's
# design, the precision draws' design, each refused until its analysis plan is committed (docs/evidence.md).
regenerate: $(STAMP)
	$(BIN)/python -m tgdfer_study regenerate --draw evaluation replication precision

# The meaning draws (the dose of meaning and the claims decided with room to spare), apart: about an hour on 2 cores.
regenerate-meaning: $(STAMP)
	$(BIN)/python -m tgdfer_study regenerate --draw meaning

# Equal tuning of every variant on the development draw's validation splits (results/tuning_equal.md).
tune: $(STAMP)
	$(BIN)/python -m tgdfer_study tune --equal

# pytest over tests/ and nbval (strict) over notebooks/
test: $(STAMP)
	TGDFER_PROGRESS=0 $(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider -q

# Re-execute every notebook with its own defaults into build/, copy back on success (what nbval checks).
notebooks: $(STAMP)
	mkdir -p build/notebooks
	for nb in notebooks/*.ipynb; do \
		TGDFER_PROGRESS=0 $(BIN)/papermill $$nb build/$$nb --cwd notebooks || exit 1; \
		cp build/$$nb $$nb; \
	done

clean-build:
	rm -rf build
