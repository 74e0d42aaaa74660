# Gatun build entry points. See README.md.
#
#   make venv   - .venv with `pip install -e python[dev]` (builds the server jar first)
#   make jar    - (re)build the server jar into python/gatun/jars/ when java/ changes
#   make test   - Java tests, Python tests, Go tests (if go/go.mod exists)
#   make demo   - run bench/demo.py
#   make bench  - run bench/run_bench.py
#   make bench-pyspark - PySpark over Gatun vs Py4J (bench/pyspark_bench.py)
#   make bench-arrow - run bench/arrow_bench.py (raw Arrow transfer, writes bench/results/arrow.*)
#   make bench-load  - run bench/load_bench.py (the bridges and PySpark with busy CPUs, writes bench/results/load.*)
#   make fuzz   - long fuzzing runs of the decoders (FUZZ_RUNS inputs each, default 10 million)
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

JAR      := python/gatun/jars/gatun-server.jar
CORE_JAR := java/core/target/gatun-core-0.1.0-SNAPSHOT.jar
SPARK_JAR := java/spark/target/gatun-spark-0.1.0-SNAPSHOT.jar
# The Arrow data plane with Arrow itself, for the standalone server's class path.
ARROW_JAR := java/arrow/target/gatun-arrow-0.1.0-SNAPSHOT-standalone.jar

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
JAVA_INPUTS := $(shell find java -name target -prune -o \( -name pom.xml -o -path '*/src/main*' \) -print 2>/dev/null)
# Everything that goes into the pip install (metadata + C extension).
PY_BUILD_INPUTS := python/pyproject.toml python/setup.py \
                   $(wildcard python/gatun/*.c python/gatun/*.h)

.PHONY: venv jar test test-java test-python test-go test-pyspark-doctests demo doctor bench bench-pyspark bench-arrow bench-load fuzz clean

venv: $(JAR) $(STAMP)

jar: $(JAR)

$(JAR): $(JAVA_INPUTS)
	$(MVN) $(MVN_FLAGS) -q -f java/pom.xml -DskipTests package
	mkdir -p $(@D)
	cp $(SPARK_JAR) $(@D)/gatun-spark.jar
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

# PySpark's own doctests, run over Gatun; fails on any failure the Py4J baseline did not have.
PYSPARK_DOCTEST_MODULES ?= pyspark.sql.types pyspark.sql.classic.column pyspark.sql.classic.dataframe pyspark.sql.session pyspark.sql.functions.builtin pyspark.sql.pandas.conversion

test-pyspark-doctests: venv
	$(VPY) bench/pyspark_doctests.py --python $(VPY) --env GATUN_PYSPARK=1 --timeout 900 \
	  --baseline bench/results/pyspark-doctest-baseline-py4j.json --fail-on-new $(PYSPARK_DOCTEST_MODULES)

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
	  echo "cd go && $(GO) vet ./... && $(GO) test ./..."; \
	  cd go && GATUN_REQUIRE_JVM=1 $(GO) vet ./... && GATUN_REQUIRE_JVM=1 $(GO) test ./... && \
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

# Long runs of the fuzzers whose short runs `make test` does (DecoderFuzzTest: the Java request
# decoder and hand-shake parser; FuzzDecodeServerMessage: the Go client's decoders;
# fuzz_decoders.py: the Python client's decoders, with atheris).
FUZZ_RUNS ?= 10000000
fuzz: venv
	$(MVN) $(MVN_FLAGS) $(MVN_TEST_LOG) -f java/pom.xml -pl core test -Dtest=DecoderFuzzTest -Dgatun.fuzz.iterations=$(FUZZ_RUNS)
	cd go && $(GO) test ./gatun -run '^$$' -fuzz FuzzDecodeServerMessage -fuzztime $(FUZZ_RUNS)x -parallel 1
	dir=$$(mktemp -d) && cd "$$dir" && $(abspath $(VPY)) $(CURDIR)/python/tests/fuzz_decoders.py \
	  -runs=$(FUZZ_RUNS) -rss_limit_mb=2048 && rm -rf "$$dir"

clean:
	rm -rf $(VENV) python/gatun/jars python/build python/*.egg-info .pytest_cache python/.pytest_cache
	rm -f python/gatun/_native*.so
	find java -name target -type d -prune -exec rm -rf {} +
	find python bench -name __pycache__ -type d -prune -exec rm -rf {} +
