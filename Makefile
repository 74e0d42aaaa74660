# Gatun build entry points. See README.md.
#
#   make venv   - .venv with `pip install -e python[dev]` (builds the server jar first)
#   make jar    - (re)build the server jar into python/gatun/jars/ when java/ changes
#   make test   - Java tests, Python tests, Go tests (if go/go.mod exists)
#   make test-pyspark35-doctests - PySpark 3.5's doctests of the named modules over stock, then over Gatun (no new failure)
#   make demo   - run bench/demo.py
#   make bench  - run bench/run_bench.py
#   make bench-pyspark - PySpark over Gatun vs Py4J (bench/pyspark_bench.py)
#   make bench-arrow - run bench/arrow_bench.py (raw Arrow transfer, writes bench/results/arrow.*)
#   make bench-load  - run bench/load_bench.py (the bridges and PySpark with busy CPUs, writes bench/results/load.*)
#   make bench-gaps  - run bench/clock_gaps.py (clock gaps a spinning thread sees, idle and busy; writes bench/results/clock_gaps.*)
#   make bench-udf   - run bench/udf_breakdown.py (where stock PySpark's identity UDFs spend their time, writes bench/results/udf_breakdown.*)
#   make fuzz   - long fuzzing runs of the decoders (FUZZ_RUNS inputs each, default 10 million)
#   make fault  - the long fault suite (kill -9, SIGSTOP, full /dev/shm, fds, 10,000 connect cycles, second uid)
#   make soak   - bench/soak.py for SOAK_SECONDS (default 3600), writes bench/results/soak.{md,json,png}
#   make clean  - remove build outputs and .venv
#
# Another JDK: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 make test

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := venv
.DELETE_ON_ERROR:

PYTHON ?= python3
MVN    ?= mvn
GO     ?= go

VENV  := .venv
VPY   := $(VENV)/bin/python
STAMP := $(VENV)/.gatun-install.stamp

# The one version of Gatun (Python, Java, Go); python/tests/test_version.py checks the others.
VERSION  := $(shell cat VERSION)
JAR      := python/gatun/jars/gatun-server.jar
CORE_JAR := java/core/target/gatun-core-$(VERSION).jar
# The Spark driver's jar: gatun-spark with gatun-core and gatun-arrow's classes (classifier driver).
SPARK_JAR := java/spark/target/gatun-spark-$(VERSION)-driver.jar
# The same for Spark 3.5 (Scala 2.12): gatun-spark's source built against Spark 3.5 (java/spark35).
SPARK35_JAR := java/spark35/target/gatun-spark35-$(VERSION)-driver.jar
# The Arrow data plane with Arrow itself, for the standalone server's class path.
ARROW_JAR := java/arrow/target/gatun-arrow-$(VERSION)-standalone.jar

# Batch mode, no download progress, no colours. jansi.noreset stops Debian's
# Maven 3.8.7 from printing stray ANSI reset codes (it only works via MAVEN_OPTS).
MVN_FLAGS := -B -ntp -Dstyle.color=never
export MAVEN_OPTS := $(strip $(MAVEN_OPTS) -Djansi.noreset=true)
# For `mvn test`: only warnings/errors plus surefire's own output
# (per-class "Tests run: ..." lines and the closing "Results:" summary).
MVN_TEST_LOG := -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
                -Dorg.slf4j.simpleLogger.log.org.apache.maven.plugin.surefire=info

# Everything that goes into the jar: poms and main sources/resources. Directories
# are listed too, so adding or deleting a file also triggers a rebuild.
JAVA_INPUTS := $(shell find java -name target -prune -o \( -name pom.xml -o -path '*/src/main*' -o -path '*/src/spark4*' \) -print 2>/dev/null)
# Everything that goes into the pip install (metadata + C extension).
PY_BUILD_INPUTS := python/pyproject.toml python/setup.py VERSION \
                   $(wildcard python/gatun/*.c python/gatun/*.h)

.PHONY: venv jar test test-java test-python test-go test-pyspark-doctests test-pyspark35-doctests demo doctor bench bench-pyspark bench-arrow bench-load bench-gaps bench-udf bench-udf-busy bench-udf-memory fuzz fault soak clean

venv: $(JAR) $(STAMP)

jar: $(JAR)

$(JAR): $(JAVA_INPUTS)
	$(MVN) $(MVN_FLAGS) -q -f java/pom.xml -DskipTests package
	mkdir -p $(@D)
	cp $(SPARK_JAR) $(@D)/gatun-spark.jar
	cp $(SPARK35_JAR) $(@D)/gatun-spark35.jar
	cp $(ARROW_JAR) $(@D)/gatun-arrow.jar
	cp $(CORE_JAR) $@

$(VPY):
	$(PYTHON) -m venv $(VENV)

# The jar is order-only: the install is editable, so a rebuilt jar is picked up
# in place without reinstalling.
$(STAMP): $(PY_BUILD_INPUTS) python/gatun-pyspark.pth | $(VPY) $(JAR)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e './python[dev]'
	cp python/gatun-pyspark.pth "$$($(VPY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	touch $@

test: venv
	$(MAKE) --no-print-directory test-java
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory test-pyspark-doctests
	$(MAKE) --no-print-directory test-dist

# PySpark's own doctests, run over Gatun; fails on any failure the Py4J baseline did not have.
PYSPARK_DOCTEST_MODULES ?= pyspark.sql.types pyspark.sql.classic.column pyspark.sql.classic.dataframe pyspark.sql.session pyspark.sql.functions.builtin pyspark.sql.pandas.conversion

# The Python UDF modules (issue 16: GATUN_PYSPARK=1 installs Gatun's UDF input extension) against
# their own stock baseline (bench/results/pyspark-udf-doctest-baseline-py4j.*).
PYSPARK_UDF_DOCTEST_MODULES ?= pyspark.sql.pandas.functions pyspark.sql.pandas.group_ops pyspark.sql.pandas.map_ops pyspark.sql.udf

test-pyspark-doctests: venv
	$(VPY) bench/pyspark_doctests.py --python $(VPY) --env GATUN_PYSPARK=1 --timeout 900 \
	  --baseline bench/results/pyspark-doctest-baseline-py4j.json --fail-on-new $(PYSPARK_DOCTEST_MODULES)
	$(VPY) bench/pyspark_doctests.py --python $(VPY) --env GATUN_PYSPARK=1 --timeout 900 \
	  --baseline bench/results/pyspark-udf-doctest-baseline-py4j.json --fail-on-new $(PYSPARK_UDF_DOCTEST_MODULES)

# The same modules under their PySpark 3.5 names, in build/pyspark35-venv (made as
# python/tests/test_pyspark35.py makes it): stock Py4J first, as 3.5's baseline, then Gatun with no
# new failure allowed. Writes bench/results/pyspark35-doctest{-baseline-py4j,s-gatun}.{json,md}.
# Not part of make test (about 15 min on 2 cores).
PYSPARK35_DOCTEST_MODULES ?= pyspark.sql.types pyspark.sql.column pyspark.sql.dataframe pyspark.sql.session pyspark.sql.functions pyspark.sql.pandas.conversion
PYSPARK35_PY := build/pyspark35-venv/bin/python

test-pyspark35-doctests: venv
	cd python/tests && $(abspath $(VPY)) -c "import test_pyspark35; test_pyspark35._python()"
	$(VPY) bench/pyspark_doctests.py --python $(PYSPARK35_PY) --timeout 900 \
	  --json bench/results/pyspark35-doctest-baseline-py4j.json \
	  --markdown bench/results/pyspark35-doctest-baseline-py4j.md $(PYSPARK35_DOCTEST_MODULES)
	$(VPY) bench/pyspark_doctests.py --python $(PYSPARK35_PY) --env GATUN_PYSPARK=1 --timeout 900 \
	  --baseline bench/results/pyspark35-doctest-baseline-py4j.json --fail-on-new \
	  --json bench/results/pyspark35-doctests-gatun.json \
	  --markdown bench/results/pyspark35-doctests-gatun.md $(PYSPARK35_DOCTEST_MODULES)

# The server must run in every Spark driver JVM: Java 17 (the default) and the newest JDK here.
JDK_NEWEST ?= /usr/lib/jvm/temurin-25-jdk-amd64

test-java:
	$(MVN) $(MVN_FLAGS) $(MVN_TEST_LOG) -f java/pom.xml test
	@if [ -x $(JDK_NEWEST)/bin/java ]; then \
	  echo "== Java tests again on $(JDK_NEWEST)"; \
	  JAVA_HOME=$(JDK_NEWEST) $(MVN) $(MVN_FLAGS) $(MVN_TEST_LOG) -f java/pom.xml test; \
	else \
	  echo "$(JDK_NEWEST) not found: Java tests ran on the default JDK only"; \
	fi

# pytest's exit code 5 (no tests collected) fails the build too.
test-python: venv
	$(VPY) -m pytest python/tests -q
	@if [ -x $(JDK_NEWEST)/bin/java ]; then \
	  echo "== Python call and callback tests against a server on $(JDK_NEWEST)"; \
	  JAVA_HOME=$(JDK_NEWEST) $(VPY) -m pytest python/tests/test_calls.py python/tests/test_callbacks.py -q; \
	fi

test-go: venv
	@if [ -f go/go.mod ]; then \
	  echo "cd go && $(GO) vet ./... ./cmd/... && $(GO) test ./... ./cmd/..."; \
	  cd go && GATUN_REQUIRE_JVM=1 $(GO) vet ./... ./cmd/... && GATUN_REQUIRE_JVM=1 $(GO) test ./... ./cmd/... && \
	    echo "short fuzzing run of the Go decoders (make fuzz runs long ones)" && \
	    $(GO) test ./gatun -run '^$$' -fuzz FuzzDecodeServerMessage -fuzztime 20000x -parallel 1; \
	else \
	  echo "go/go.mod not found: skipping Go tests"; \
	fi

# The main job: a short tour of the bridge, then a real PySpark job over Gatun and over Py4J.
demo: venv
	$(VPY) bench/demo.py
	$(VPY) bench/pyspark_demo.py

# Checks the machine for what Gatun needs (Java, the jar, shared memory, Spark).
doctor: venv
	cd go && $(GO) run ./cmd/gatun doctor

bench: venv
	$(VPY) bench/run_bench.py
	$(VPY) bench/load_bench.py

# PySpark over Gatun vs stock PySpark (~6 min; with the doctest trio ~15 min).
bench-pyspark: venv
	$(VPY) bench/pyspark_bench.py --doctests
bench-arrow: venv
	$(VPY) bench/arrow_bench.py
# Single calls with 0, nproc and 2 x nproc busy processes, PySpark during a Spark job, start-up
# with busy cores; Gatun (Python and Go) vs Py4J vs JPype vs stock PySpark (~20 min on 2 cores).
bench-load: venv
	$(VPY) bench/load_bench.py
# The gaps between a spinning thread's clock reads with 0, nproc and 2 x nproc busy processes: where
# the wait policy's GAP must lie (spec §2.2.1; ~1 minute; needs a C compiler).
bench-gaps: venv
	$(VPY) bench/clock_gaps.py
# Stock PySpark's identity UDFs (pandas_udf, Arrow udf, mapInArrow) at 10M rows on local[2], split into
# the JVM's encoding and decoding, the socket and the Python worker's parts (issue 16; ~15 min on a
# quiet 2-core machine; `.venv/bin/python bench/udf_breakdown.py --quick --out /tmp/x` is a smoke run).
bench-udf: venv
	$(VPY) bench/udf_breakdown.py

# The same with 2 busy processes beside Spark for the whole run (udf_breakdown_busy2.md; ~10 min).
bench-udf-busy: venv
	$(VPY) bench/udf_breakdown.py --busy 2

# The same without Python worker reuse, so each job's workers' peak RSS is its own
# (udf_breakdown_fresh_workers.md; ~10 min).
bench-udf-memory: venv
	$(VPY) bench/udf_breakdown.py --fresh-workers

# Long runs of the fuzzers whose short runs `make test` does (DecoderFuzzTest: the Java request
# decoder and hand-shake parser; FuzzDecodeServerMessage: the Go client's decoders;
# fuzz_decoders.py: the Python client's decoders, with atheris; fuzz_native.py: the C fast path's
# decoder of answer frames, through a real region and a fake server thread).
FUZZ_RUNS ?= 10000000
fuzz: venv
	$(MVN) $(MVN_FLAGS) $(MVN_TEST_LOG) -f java/pom.xml -pl core test -Dtest=DecoderFuzzTest -Dgatun.fuzz.iterations=$(FUZZ_RUNS)
	cd go && $(GO) test ./gatun -run '^$$' -fuzz FuzzDecodeServerMessage -fuzztime $(FUZZ_RUNS)x -parallel 1
	dir=$$(mktemp -d) && cd "$$dir" && $(abspath $(VPY)) $(CURDIR)/python/tests/fuzz_decoders.py \
	  -runs=$(FUZZ_RUNS) -rss_limit_mb=2048 && rm -rf "$$dir"
	dir=$$(mktemp -d) && cd "$$dir" && $(abspath $(VPY)) $(CURDIR)/python/tests/fuzz_native.py \
	  -runs=$(FUZZ_RUNS) -timeout=10 -rss_limit_mb=2048 && rm -rf "$$dir"

# The fault suite of issue 13 at full length (make test runs it with 1,000 cycles): Python
# (python/tests/test_faults*.py) and Go (go/gatun/fault_test.go).
FAULT_CYCLES ?= 10000
fault: venv
	cd python/tests && GATUN_FAULT_CYCLES=$(FAULT_CYCLES) $(abspath $(VPY)) -m pytest test_faults.py test_faults_resources.py -v -s
	cd go && $(GO) test ./gatun -run 'TestServerStoppedCallTimesOut' -v -count=1

# One hour (SOAK_SECONDS) of mixed calls, callbacks, Arrow transfers and connects from Python and Go;
# fails when a sampled figure grows. make test runs a one-minute version (test_soak_short.py).
SOAK_SECONDS ?= 3600
soak: venv
	$(VPY) bench/soak.py --seconds $(SOAK_SECONDS) --out bench/results

clean:
	rm -rf $(VENV) python/gatun/jars python/build python/*.egg-info .pytest_cache python/.pytest_cache
	rm -f python/gatun/_native*.so
	find java -name target -type d -prune -exec rm -rf {} +
	find python bench -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf dist build

# ---- Distribution (issue 15) ----------------------------------------------------------------
#   make dist           - dist/gatun-VERSION.tar.gz and a manylinux wheel with the four jars and
#                         the compiled C extension (built from the sdist, checked by auditwheel)
#   make test-dist      - installs that wheel into a fresh venv with mvn, javac and gcc off PATH
#                         and runs real calls through it (part of make test)
#   make test-dist-pyspark - the same venv with gatun[pyspark,arrow], then the PySpark demo over Gatun
#   make test-matrix    - the compatibility matrix (bench/compat_matrix.py; not in make test, ~10-20
#                         min per combination): each combination of PySpark, pandas, Python and Java in
#                         a fresh venv with the wheel; writes bench/results/compat.{md,json}.
#                         MATRIX="id ..." runs some of them (`$(VPY) bench/compat_matrix.py --list`).
.PHONY: dist test-dist test-dist-pyspark test-matrix

DIST := dist

# The sdist carries the jars Maven built ($(JAR)); the wheel is built from the sdist (so the sdist
# is proven to build), then auditwheel checks the extension's symbols against the manylinux
# policies and gives it the oldest tag it honestly meets.
dist: $(JAR) $(STAMP)
	rm -rf $(DIST) python/build python/gatun.egg-info
	$(VPY) -m build --outdir $(DIST)/raw python
	PATH="$$PWD/$(VENV)/bin:$$PATH" $(VPY) -m auditwheel repair --wheel-dir $(DIST) $(DIST)/raw/gatun-$(VERSION)-*.whl
	mv $(DIST)/raw/gatun-$(VERSION).tar.gz $(DIST)/
	rm -rf $(DIST)/raw python/build python/gatun.egg-info
	@ls -l $(DIST)

test-dist: dist
	GATUN_WHEEL="$$(echo $(DIST)/gatun-$(VERSION)-*.whl)" GATUN_SDIST=$(DIST)/gatun-$(VERSION).tar.gz \
	  $(VPY) -m pytest python/tests/test_wheel_install.py -q -p no:cacheprovider

test-dist-pyspark: dist
	GATUN_WHEEL="$$(echo $(DIST)/gatun-$(VERSION)-*.whl)" GATUN_SDIST=$(DIST)/gatun-$(VERSION).tar.gz \
	GATUN_DIST_PYSPARK=1 $(VPY) -m pytest python/tests/test_wheel_install.py -q -p no:cacheprovider

MATRIX ?=
test-matrix: dist
	$(VPY) bench/compat_matrix.py $(MATRIX)

# `mvn install` of gatun-parent, gatun-core, gatun-arrow and gatun-spark (with their -sources and
# -javadoc jars, and gatun-spark's -driver jar) into the local repository, a check of what was
# installed (python/tests/test_maven_artifacts.py), then examples/maven-consumer, a project outside
# this build that depends on them by coordinates, is built and run (~1-2 min).
.PHONY: maven-install test-maven
M2_REPO ?= $(HOME)/.m2/repository
CONSUMER := examples/maven-consumer

maven-install:
	$(MVN) $(MVN_FLAGS) -q -f java/pom.xml -Dmaven.repo.local=$(M2_REPO) -DskipTests install

test-maven: maven-install $(STAMP)
	GATUN_M2_REPO=$(M2_REPO) $(VPY) -m pytest python/tests/test_maven_artifacts.py -q -p no:cacheprovider
	cd $(CONSUMER) && $(MVN) $(MVN_FLAGS) -q -Dmaven.repo.local=$(M2_REPO) -Dgatun.version=$(VERSION) \
	  clean package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	java -cp "$(CONSUMER)/target/classes:$$(cat $(CONSUMER)/target/classpath.txt)" dev.gatun.example.App \
	  | tee /dev/stderr | tail -n 1 | grep -qx OK

# make set-version V=X.Y.Z: VERSION and its copies (poms, Go constant, go/cmd/go.mod, go.work).
.PHONY: set-version
set-version:
	$(PYTHON) tools/set_version.py $(V)
