#!/usr/bin/env bash
# Provision what FrostServer's stack needs on this machine, skipping whatever is already there:
#   1. a running Docker engine,
#   2. the Compose v2 and buildx CLI plugins,
#   3. a local debian:trixie-slim base image of this machine's architecture (every FrostServer
#      image is built FROM it),
#   4. with --tests: a headless Chromium for the browser tests (Debian's; Playwright drives it)
#      and Node.js with npm for the dashboard's lint and unit tests (Debian's, when missing),
#   5. with --bench: wrk and node_exporter for `make bench`,
#   6. with --arch ARCH (arm64, armhf, amd64; repeatable): QEMU user emulation when ARCH is not
#      this machine's, and a base image of that architecture, frostserver/base:trixie-slim-ARCH
#      (never debian:trixie-slim, which stays this machine's own).
#
# Runs on amd64, arm64 and armhf hosts: Debian 12/13 and Raspberry Pi OS (64-bit: Debian's own
# archive; 32-bit: the Raspbian archive, built for ARMv6). README.md, "Architectures and boards".
#
# On Debian as root, missing pieces are installed. Elsewhere the script prints exactly what is
# missing and how to get it, then fails. Mirrors and CA certificates are read from this
# machine's own configuration at run time; no registry host is written down here.
#
# Usage: scripts/provision.sh [--check] [--tests] [--bench] [--arch ARCH]...
#        scripts/provision.sh [--check] --node
#        (--check: report only, change nothing; --node: only Node.js, for `make lint` and `make unit`)
set -euo pipefail

usage() { echo "usage: $0 [--check] [--tests] [--bench] [--arch amd64|arm64|armhf]... | [--check] --node" >&2; exit 2; }
check_only=false
for_tests=false
for_bench=false
node_only=false
foreign_archs=()
while [ $# -gt 0 ]; do
  case $1 in
    --check) check_only=true ;;
    --tests) for_tests=true ;;
    --bench) for_bench=true ;;
    --node) node_only=true ;;
    --arch) [ $# -ge 2 ] || usage; foreign_archs+=("$2"); shift ;;
    --arch=*) foreign_archs+=("${1#--arch=}") ;;
    *) usage ;;
  esac
  shift
done

state_dir="${FROST_PROVISION_DIR:-/var/tmp/frostserver-provision}"
dockerd_log="$state_dir/dockerd.log"
base_image="debian:trixie-slim"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'provision: %s\n' "$*" >&2; exit 1; }

can_install() {
  [ "$(id -u)" = 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null
}

need() {  # need WHAT HOW: fail with instructions when we may not install it ourselves
  if $check_only || ! can_install; then
    fail "$1 is missing. $2"
  fi
}

# This machine's architecture as dpkg names it. Not `uname -m`: a Raspberry Pi OS 32-bit
# userland runs on a 64-bit kernel on a Pi 4 or 5 (uname says aarch64, the packages are armhf).
host_arch() { dpkg --print-architecture 2>/dev/null || fail "dpkg is missing: cannot tell this machine's architecture"; }

platform_of() {  # the Docker platform of a Debian architecture
  case $1 in
    amd64) echo linux/amd64 ;;
    arm64) echo linux/arm64 ;;
    armhf) echo linux/arm/v7 ;;  # Debian's armhf is ARMv7 with VFPv3-D16: Pi 2 and newer, never ARMv6
    *) fail "unsupported architecture $1 (amd64, arm64, armhf)" ;;
  esac
}

qemu_of() {  # the binfmt_misc entry (qemu-user-static's name) that runs an architecture's binaries
  case $1 in
    amd64) echo qemu-x86_64 ;;
    arm64) echo qemu-aarch64 ;;
    armhf) echo qemu-arm ;;
  esac
}

# The Debian (or Raspbian) mirror this machine already uses: deb822 sources first, then the
# one-line sources.list that Debian 12 and Raspberry Pi OS up to bookworm keep. A one-line entry
# may carry options (`deb [arch=arm64 signed-by=...] URI suite ...`); security suites are skipped.
debian_mirror() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {
                 i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                 print $i; exit }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || fail "cannot find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

# The keyring that signs that mirror. Raspberry Pi OS's 32-bit flavour is Raspbian: its own
# archive, signed by its own key (raspbian-archive-keyring); everything else here is Debian's.
archive_keyring() {
  if [ "$(. /etc/os-release 2>/dev/null && echo "${ID:-}")" = raspbian ]; then
    echo /usr/share/keyrings/raspbian-archive-keyring.gpg
  else
    echo /usr/share/keyrings/debian-archive-keyring.gpg
  fi
}

apt_updated=false
apt_update() {
  if ! $apt_updated; then
    step "apt-get update"
    apt-get update -qq
    apt_updated=true
  fi
}

apt_install() {
  apt_update
  step "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

ensure_engine() {
  if engine_answers; then step "Docker engine: running"; return; fi
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    need "Docker Engine (dockerd and the docker client)" \
      "Install Docker Engine (Debian: apt-get install docker.io, plus docker-cli on Debian 13) and start it."
    # Debian 13 moved the client into docker-cli, which docker.io only recommends (and we
    # install without recommends); Debian 12's docker.io still carries it.
    apt_update
    local candidate
    candidate=$(apt-cache policy docker-cli 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
      apt_install docker.io docker-cli
    else
      apt_install docker.io
    fi
  fi
  $check_only && fail "The Docker engine is installed but not running. Start it (systemctl start docker, or dockerd &)."
  step "starting dockerd (log: $dockerd_log)"
  mkdir -p "$state_dir"
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    # No init system here (CI containers): run the daemon directly, detached from this shell.
    setsid nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
    echo $! >"$state_dir/dockerd.pid"
  fi
  for _ in $(seq 1 60); do
    engine_answers && { step "Docker engine: running"; return; }
    sleep 1
  done
  tail -n 20 "$dockerd_log" >&2 || true
  fail "dockerd did not answer within 60 s (see $dockerd_log)"
}

# Compose v2 and buildx: Debian 13 packages them as docker-compose and docker-buildx; their only
# dependency is libc6 (>= 2.34), so the trixie .debs also install on Debian 12. They are fetched
# with a throw-away apt configuration so the machine's own apt state is not changed.
ensure_plugins() {
  local missing=()
  docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  docker buildx version >/dev/null 2>&1 || missing+=(docker-buildx)
  if [ ${#missing[@]} -eq 0 ]; then step "Compose v2 and buildx: present"; return; fi
  need "Docker CLI plugins (${missing[*]})" \
    "Install Docker Compose v2 and buildx (Debian 13: apt-get install docker-compose docker-buildx)."
  if apt-cache show "${missing[@]}" 2>/dev/null | grep -q '^Version: 2\.'; then
    apt_install "${missing[@]}"
    return
  fi
  local dir="$state_dir/trixie-apt"
  mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/debs"
  cat >"$dir/sources.list.d/trixie.sources" <<SRC
Types: deb
URIs: $(debian_mirror)
Suites: trixie
Components: main
Signed-By: $(archive_keyring)
SRC
  local apt_opts=(-oDir::Etc::SourceList=/dev/null "-oDir::Etc::SourceParts=$dir/sources.list.d"
                  "-oDir::State::Lists=$dir/lists" -oAPT::Get::List-Cleanup=false
                  -oAPT::Sandbox::User=root)
  step "fetching ${missing[*]} from Debian trixie"
  apt-get "${apt_opts[@]}" update -qq
  (cd "$dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "${missing[@]}")
  dpkg -i "$dir"/debs/*.deb >/dev/null
  docker compose version >/dev/null 2>&1 || fail "docker compose still does not run after installing ${missing[*]}"
  step "Compose v2 and buildx: installed ($(docker compose version --short))"
}

# A faithful debian:trixie-slim: the official image is itself a minbase debootstrap, trimmed the
# same way here (apt cleans up after itself; no docs, man pages or translations). The host's
# extra CA certificates (a TLS-inspecting proxy, say) go in so that apt, pip and npm inside the
# images trust what the host trusts once a Dockerfile installs ca-certificates.
# Bump base_recipe when this recipe changes: an image of an older recipe is rebuilt.
base_recipe=2

base_image_current() {  # base_image_current IMAGE
  [ "$(docker image inspect -f '{{ index .Config.Labels "org.frostserver.base-recipe" }}' "$1" 2>/dev/null)" \
    = "$base_recipe" ] && return 0
  # An image pulled from a registry (the official one) carries no label and is just as good.
  docker image inspect -f '{{ .RepoDigests }}' "$1" 2>/dev/null | grep -q '@sha256:'
}

slim_down() {  # slim_down ROOT: what the official slim images do to a fresh debootstrap
  local root=$1
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
DPKG
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
}

# bootstrap_root ARCH ROOT: a trimmed minbase trixie of ARCH in ROOT, with this machine's extra CA
# certificates. A foreign ARCH runs debootstrap's second stage through QEMU (ensure_emulation).
bootstrap_root() {
  local arch=$1 root=$2 log="$state_dir/debootstrap-$1.log"
  command -v debootstrap >/dev/null || apt_install debootstrap
  rm -rf "$root"
  mkdir -p "$(dirname "$root")"
  if [ "$arch" = "$(host_arch)" ]; then
    step "debootstrap --variant=minbase trixie (about a minute)"
  else
    step "debootstrap --arch=$arch --variant=minbase trixie under QEMU (about 4 minutes)"
  fi
  debootstrap --arch="$arch" --variant=minbase --keyring="$(archive_keyring)" \
      trixie "$root" "$(debian_mirror)" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; fail "debootstrap failed (see $log)"; }
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  slim_down "$root"
}

ensure_base_image() {
  if base_image_current "$base_image"; then step "$base_image: present"; return; fi
  $check_only && fail "$base_image is missing or out of date. Pull it (docker pull $base_image) or run scripts/provision.sh as root on Debian to bootstrap it."
  if docker pull -q "$base_image" >/dev/null 2>&1; then step "$base_image: pulled"; return; fi
  can_install || fail "$base_image cannot be pulled here and debootstrap needs root on Debian."
  local root="$state_dir/rootfs"
  bootstrap_root "$(host_arch)" "$root"
  step "importing $base_image"
  # The engine records its own architecture on an import, which is this root's.
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' \
    --change "LABEL org.frostserver.base-recipe=$base_recipe" - "$base_image" >/dev/null
  rm -rf "$root"
  step "$base_image: built ($(docker image inspect -f '{{ .Size }}' "$base_image" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# QEMU user emulation for a foreign architecture: qemu-user-static registers its interpreters
# with binfmt_misc's fix-binary flag, so they run inside containers that do not carry them.
ensure_emulation() {
  local arch=$1 entry
  entry=$(qemu_of "$arch")
  if [ -r "/proc/sys/fs/binfmt_misc/$entry" ] && grep -q '^enabled' "/proc/sys/fs/binfmt_misc/$entry"; then
    step "QEMU for $arch: registered"; return
  fi
  need "QEMU user emulation for $arch" \
    "Install qemu-user-static and binfmt-support (Debian), or register $entry with binfmt_misc."
  command -v update-binfmts >/dev/null && [ -e "/usr/share/binfmts/$entry" ] \
    || apt_install qemu-user-static binfmt-support
  # A container or a machine without an init system may not have binfmt_misc mounted.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable "$entry" >/dev/null 2>&1 || update-binfmts --import "$entry" >/dev/null
  grep -q '^enabled' "/proc/sys/fs/binfmt_misc/$entry" || fail "$entry is still not registered with binfmt_misc"
  step "QEMU for $arch: registered"
}

# A base image of another architecture, under its own name. The root is bootstrapped once and
# kept as a tar under $state_dir/bases/ARCH (a later run, or a rebuilt image, reuses it). Docker
# 20.10's `import --platform` records the engine's own architecture whatever it is told, so the
# tar goes in through a `FROM scratch` build under buildx --platform, which records it truly.
ensure_arch_base_image() {
  local arch=$1 image="frostserver/base:trixie-slim-$1" platform dir
  platform=$(platform_of "$arch")
  dir="$state_dir/bases/$arch"
  if base_image_current "$image" \
      && [ "$(docker image inspect -f '{{ .Architecture }}' "$image")" = "$(platform_arch "$platform")" ]; then
    step "$image: present"; return
  fi
  $check_only && fail "$image is missing or out of date. Run scripts/provision.sh --arch $arch as root on Debian."
  can_install || fail "$image must be bootstrapped, which needs root on Debian."
  [ "$arch" = "$(host_arch)" ] || ensure_emulation "$arch"
  if [ "$(cat "$dir/recipe" 2>/dev/null)" = "$base_recipe" ] && [ -s "$dir/rootfs.tar" ]; then
    step "$arch root: cached ($dir/rootfs.tar)"
  else
    rm -f "$dir/recipe"
    bootstrap_root "$arch" "$dir/rootfs"
    tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
    rm -rf "$dir/rootfs"
    echo "$base_recipe" >"$dir/recipe"
  fi
  cat >"$dir/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
LABEL org.frostserver.base-recipe=$base_recipe
CMD ["bash"]
DOCKERFILE
  printf '*\n!rootfs.tar\n!Dockerfile\n' >"$dir/.dockerignore"
  step "importing $image ($platform)"
  docker buildx build --quiet --platform "$platform" --tag "$image" "$dir" >/dev/null
  [ "$(docker image inspect -f '{{ .Architecture }}' "$image")" = "$(platform_arch "$platform")" ] \
    || fail "$image does not record $platform as its platform"
  step "$image: built"
}

platform_arch() { local rest=${1#*/}; echo "${rest%%/*}"; }  # linux/arm/v7 -> arm

# The browser tests (tests/integration/test_browser.py) drive /usr/bin/chromium with Playwright;
# Playwright's own browser download needs a CDN that may not be reachable, Debian's mirror is.
ensure_browser() {
  if [ -x /usr/bin/chromium ]; then step "Chromium: present"; return; fi
  need "Chromium (/usr/bin/chromium), which the browser tests drive" "Install it (Debian: apt-get install chromium)."
  apt_install chromium fonts-liberation  # a font, or screenshots show boxes (no recommends)
  [ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is still missing after installing chromium"
  step "Chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo "version unknown"))"
}

# The dashboard's lint and unit tests (make lint, make unit) run on this machine's Node.js:
# ESLint 9 and `node --test` need 18.18 or newer; Debian 12's nodejs is 18.19, Debian 13's 20.
node_recent_enough() {
  command -v node >/dev/null && command -v npm >/dev/null \
    && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 18) ? 0 : 1)'
}

ensure_node() {
  if node_recent_enough; then step "Node.js: present ($(node --version))"; return; fi
  need "Node.js 18.18 or newer with npm, for the dashboard's lint and unit tests" "Install it (Debian: apt-get install nodejs npm)."
  apt_install nodejs npm
  node_recent_enough || fail "Node.js is still missing or older than 18.18 after installing nodejs and npm ($(node --version 2>&1))"
  step "Node.js: installed ($(node --version))"
}

ensure_bench_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
  if [ ${#missing[@]} -eq 0 ]; then step "wrk and node_exporter: present"; return; fi
  need "${missing[*]}" "Install them (Debian: apt-get install wrk prometheus-node-exporter)."
  # The benchmark starts node_exporter itself, on a fake tree: keep the package from starting
  # its system service (policy-rc.d answers "not now" to every maintainer script).
  local policy=/usr/sbin/policy-rc.d own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=true
  fi
  apt_install "${missing[@]}" || { $own_policy && rm -f "$policy"; fail "could not install ${missing[*]}"; }
  $own_policy && rm -f "$policy"
  step "wrk and node_exporter: installed"
}

if $node_only; then  # the dashboard's checks need no Docker
  ensure_node
  exit 0
fi
ensure_engine
ensure_plugins
ensure_base_image
for arch in "${foreign_archs[@]}"; do ensure_arch_base_image "$arch"; done
$for_tests && ensure_browser
$for_tests && ensure_node
$for_bench && ensure_bench_tools
step "provisioning done"
