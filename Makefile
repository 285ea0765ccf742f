# Sluice build. `make demo` and `make test` are the two commands a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := build
ROOT := $(CURDIR)
B := $(ROOT)/build
JAVA_HOME_25 = $(shell $(ROOT)/scripts/java-home.sh)
MVN = JAVA_HOME=$(JAVA_HOME_25) mvn -B -q -Dsluice.home=$(ROOT)

BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I$(ROOT)/bpf -I/usr/include/$(shell uname -m)-linux-gnu
BPF_SRC := $(wildcard bpf/*.c) $(wildcard bpf/tests/*.c)
BPF_HDR := $(wildcard bpf/lib/*.h bpf/*.h)
BPF_OBJ := $(patsubst bpf/%.c,$(B)/bpf/%.o,$(BPF_SRC))
C_BINS := $(B)/bin/sluice-cni $(B)/bin/sluice-pod

.PHONY: deps java build bpf cbins ctest jar test unit-test lab-test demo clean bench bench-agent bench-idle bench-lab bench-socklb bench-l7

deps:
	@$(ROOT)/scripts/deps.sh
	@$(ROOT)/scripts/deps-node-grpc.sh
	@$(ROOT)/scripts/java-home.sh >/dev/null

bpf: $(BPF_OBJ)
$(B)/bpf/%.o: bpf/%.c $(BPF_HDR)
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -c $< -o $@

# Test harnesses include an entry file.
$(B)/bpf/tests/overlay_test.o: bpf/bpf_overlay.c
$(B)/bpf/tests/lxc_test.o: bpf/bpf_lxc.c

# The C tools: sluice-pod (one file per subcommand, tools/pod/) and the CNI plugin share tools/lib/.
C_FLAGS := -O2 -Wall -Wextra -Werror -I$(ROOT)/tools
LIB_SRC := $(wildcard tools/lib/*.c)
LIB_HDR := $(wildcard tools/lib/*.h)
POD_SRC := $(wildcard tools/pod/*.c)
CNI_LIB := tools/lib/buf.c tools/lib/json.c tools/lib/net.c

cbins: $(C_BINS)
$(B)/bin/sluice-cni: cni/sluice-cni.c $(CNI_LIB) $(LIB_HDR)
	@mkdir -p $(dir $@)
	gcc $(C_FLAGS) -static -o $@ cni/sluice-cni.c $(CNI_LIB)
$(B)/bin/sluice-pod: $(POD_SRC) tools/pod/pod.h $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	gcc $(C_FLAGS) -static -pthread -o $@ $(POD_SRC) $(LIB_SRC)

# The C tools' own unit tests (tools/lib/tests), built and run.
ctest: $(B)/tests/lib_test
	$(B)/tests/lib_test
$(B)/tests/lib_test: tools/lib/tests/lib_test.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	gcc $(C_FLAGS) -o $@ tools/lib/tests/lib_test.c $(LIB_SRC)

jar:
	$(MVN) -DskipTests install

build: deps bpf cbins jar

# Unit, golden, BPF_PROG_TEST_RUN and lab end-to-end tests: everything.
test: deps bpf cbins ctest
	@rm -rf */target/surefire-reports */target/failsafe-reports
	@$(MVN) install; rc=$$?; $(ROOT)/scripts/test-summary.sh; exit $$rc

demo: build
	$(ROOT)/scripts/demo.sh

bench: build
	$(ROOT)/scripts/bench.sh
	$(ROOT)/scripts/bench-agent.sh
	$(ROOT)/scripts/bench-idle.sh
	$(ROOT)/scripts/bench-lab.sh

# Agent-side cost of Services and policy beside kube-proxy's iptables restore (issue 13), alone.
bench-agent: build
	$(ROOT)/scripts/bench-agent.sh

# The idle agent as a node runs it (sluice agent from the jar, default values), alone.
bench-idle: build
	$(ROOT)/scripts/bench-idle.sh

# What a lab user waits for at 10,000 Services through the lab's API server, beside iptables-legacy, alone.
bench-lab: build
	$(ROOT)/scripts/bench-lab.sh

# Pod -> ClusterIP with socket LB, with per-packet translation, and pod -> pod direct, in one run (issue 11).
bench-socklb: build
	$(ROOT)/scripts/bench-socklb.sh

# HTTP through the L7 proxy and direct on the same path, proxy memory per 1,000 idle connections,
# DNS through the DNS proxy and direct (issue 10).
bench-l7: build
	$(ROOT)/scripts/bench-l7.sh

clean:
	rm -rf $(B)
	$(MVN) clean
