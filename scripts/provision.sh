#!/usr/bin/env bash
# Provision what FrostServer's stack needs on this machine, skipping whatever is already there:
#   1. a running Docker engine,
#   2. the Compose v2 and buildx CLI plugins,
#   3. a local debian:trixie-slim base image (every FrostServer image is built FROM it).
#
# On Debian as root, missing pieces are installed. Elsewhere the script prints exactly what is
# missing and how to get it, then fails. Mirrors and CA certificates are read from this
# machine's own configuration at run time; no registry host is written down here.
#
# Usage: scripts/provision.sh [--check]   (--check: report only, change nothing)
set -euo pipefail

check_only=false
[ "${1:-}" = "--check" ] && check_only=true

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

# The Debian mirror this machine already uses (deb822 sources first, then sources.list).
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || fail "cannot find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

apt_updated=false
apt_install() {
  if ! $apt_updated; then
    step "apt-get update"
    apt-get update -qq
    apt_updated=true
  fi
  step "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

ensure_engine() {
  if engine_answers; then step "Docker engine: running"; return; fi
  if ! command -v dockerd >/dev/null; then
    need "The Docker engine (dockerd)" "Install Docker Engine (Debian: apt-get install docker.io) and start it."
    apt_install docker.io
  fi
  if ! command -v docker >/dev/null; then
    need "The docker client" "Install it (Debian: apt-get install docker.io)."
    apt_install docker.io
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
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
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

# A faithful debian:trixie-slim: the official image is itself a minbase debootstrap. The host's
# extra CA certificates (a TLS-inspecting proxy, say) go in so that apt, pip and npm inside the
# images trust what the host trusts once a Dockerfile installs ca-certificates.
ensure_base_image() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then step "$base_image: present"; return; fi
  $check_only && fail "$base_image is missing. Pull it (docker pull $base_image) or run scripts/provision.sh as root on Debian to bootstrap it."
  if docker pull -q "$base_image" >/dev/null 2>&1; then step "$base_image: pulled"; return; fi
  can_install || fail "$base_image cannot be pulled here and debootstrap needs root on Debian."
  command -v debootstrap >/dev/null || apt_install debootstrap
  local root="$state_dir/rootfs"
  rm -rf "$root"
  step "debootstrap --variant=minbase trixie (about a minute)"
  debootstrap --variant=minbase trixie "$root" "$(debian_mirror)" >"$state_dir/debootstrap.log" 2>&1 \
    || { tail -n 20 "$state_dir/debootstrap.log" >&2; fail "debootstrap failed (see $state_dir/debootstrap.log)"; }
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  # Keep the image lean like the official slim one: no apt lists, no package caches.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  step "importing $base_image"
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$base_image" >/dev/null
  rm -rf "$root"
  step "$base_image: built"
}

ensure_engine
ensure_plugins
ensure_base_image
step "provisioning done"
