# A thin wrapper around CMake. The README's two commands are `make run` and
# `make test`; both install the Debian packages they need first.

CORE_DEPS  = build-essential cmake pkg-config lua5.4 liblua5.4-dev libev-dev \
             libc-ares-dev libssl-dev lua-busted node-llhttp zlib1g-dev \
             libnghttp2-dev
# systemd: systemd-socket-activate (daemon_systemd_spec); strace: what --help
# must not open (scripts_help_spec); nodejs: the HTTP conformance suite's peer;
# redis-server: net.Redis's peer (redis_spec), plain, with a password and TLS;
# haproxy: in front of the three chat nodes of etc/cluster/ (redis_cluster_spec);
# nghttp2-client (nghttp, h2load) and python3-h2: HTTP/2's peers (http2_spec);
# luarocks: builds the rockspec into a temporary tree (rockspec_spec);
# groff-base, mandoc, man-db: render and lint the man pages in docs/man/
# (man_pages_spec); prometheus: promtool checks what /metrics serves
# (daemon_metrics_spec); lua-ldoc: generates the API reference in docs/api/
# (api_docs_spec).
TEST_DEPS  = python3 python3-pyqt5 procps dnsmasq-base iproute2 util-linux curl wrk nginx openssl lftp python3-pyftpdlib \
             vsftpd systemd strace nodejs python3-websockets python3-pyqt5.qtwebsockets chromium redis-server haproxy \
             nghttp2-client python3-h2 luarocks groff-base mandoc man-db prometheus lua-ldoc
FUZZ_DEPS  = clang libclang-rt-14-dev
# debhelper, dpkg-dev: dpkg-buildpackage and dh (the rest of debian/control's
# Build-Depends is in CORE_DEPS); debootstrap, lintian: deb-check.
DEB_DEPS   = debhelper dpkg-dev
DEB_CHECK_DEPS = debootstrap lintian iproute2 util-linux
BENCH_DEPS = nodejs nginx libnginx-mod-http-lua wrk strace valgrind util-linux curl vsftpd python3-pyftpdlib \
             nghttp2-client

JOBS ?= $(shell nproc)
# CI turns warnings into errors.
WERROR := $(if $(filter true,$(CI)),ON,OFF)
FUZZ_SECONDS ?= 60

PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
LUA_VERSION = 5.4

.PHONY: all deps build asan run test fuzz bench install deb deb-check docs fresh clean

all: build

deps:
	@tools/deps.sh $(CORE_DEPS)

build: deps
	@cmake -S . -B build -DLUANET_WERROR=$(WERROR) >/dev/null
	@cmake --build build -j $(JOBS)

asan: deps
	@cmake -S . -B build-asan -DLUANET_SANITIZE=ON -DLUANET_WERROR=$(WERROR) \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j $(JOBS)

run: build
	build/luanetd -c etc/luanetd.conf

test: build asan
	@tools/deps.sh $(TEST_DEPS)
	@tools/run-specs.sh

fuzz: deps
	@tools/deps.sh $(FUZZ_DEPS)
	@fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	@tools/deps.sh $(BENCH_DEPS)
	@bench/run.sh

# The binary; the Lua library where a stock lua5.4 finds it (luanet/**/*.lua
# and luanet/core.so); the scripts; the config under /etc/luanetd (its
# script paths rewritten to the installed scripts); the systemd unit.
install: deps
	@tools/install.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(LUA_VERSION)"

# build-deb/luanetd_VERSION_amd64.deb (and its -dbgsym), built by
# dpkg-buildpackage from debian/ in a copy of the working tree under
# build-deb/; VERSION is debian/changelog's, which must be CMakeLists.txt's.
deb: deps
	@tools/deps.sh $(DEB_DEPS)
	@tools/deb.sh $(JOBS)

# The package as a user of a fresh Debian 12 installs it: lintian, then
# apt-get install ./build-deb/luanetd_*.deb in a debootstrap'd minimal root
# and the installed files at work there; a few minutes.
deb-check: deb
	@tools/deps.sh $(DEB_CHECK_DEPS)
	@tools/deb-check.sh

# The Lua library's API reference (LDoc) in docs/api/.
docs:
	@tools/deps.sh lua-ldoc
	@tools/api-docs.sh

# The README's two commands in a fresh minimal Debian 12 root (debootstrap),
# from a clean clone of HEAD in its /root; about 20 minutes.
fresh:
	@tools/fresh-debian.sh

clean:
	rm -rf build build-asan build-fuzz build-install build-deb build.luarocks
