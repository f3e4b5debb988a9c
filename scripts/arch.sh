#!/usr/bin/env bash
# FrostServer for another architecture (arm64, armhf; amd64 too): its images, a smoke test of them
# under QEMU user emulation, and an offline bundle for a device that reaches no registry.
#
#   scripts/arch.sh build ARCH         frostserver/{web,app,nginx}:ARCH, FROM frostserver/base:trixie-slim-ARCH
#   scripts/arch.sh test ARCH...       build, then `pytest -m smoke tests/integration` on those images
#   scripts/arch.sh bundle ARCH [OUT]  build, then one tar: the images (docker save) and what
#                                      `docker compose up` needs (dist/frostserver-ARCH.tar)
#
# The host's own images (frostserver/*:latest) and base (debian:trixie-slim) are never touched:
# everything here is tagged with the architecture. What can be reused is: the bootstrapped root
# of each architecture (scripts/provision.sh keeps it under /var/tmp/frostserver-provision/bases)
# and BuildKit's cache of every step; a machine with neither builds them first and passes too.
# The dashboard is built on this machine's own platform (services/web/Dockerfile): its files are
# the same for every architecture, only the small image that copies them is the target's.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
log_dir="${FROST_ARCH_LOG_DIR:-/var/tmp/frostserver-arch}"
mkdir -p "$log_dir"

step() { printf '==> [%4ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf 'arch: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

platform_of() {
  case $1 in
    amd64) echo linux/amd64 ;;
    arm64) echo linux/arm64 ;;
    armhf) echo linux/arm/v7 ;;
    *) fail "unsupported architecture '$1' (amd64, arm64, armhf)" ;;
  esac
}

host_arch() { dpkg --print-architecture; }

# build_image ARCH SERVICE: one image, its progress shown step by step (the full log is kept).
build_image() {
  local arch=$1 service=$2 log="$log_dir/build-$1-$2.log" platform
  platform=$(platform_of "$arch")
  step "$arch: building frostserver/$service:$arch for $platform (log: $log)"
  # --progress=plain goes to the log; the terminal gets each step as it starts and ends, and
  # within the long ones (minutes under QEMU) each package apt sets up and pip or npm installs.
  if ! docker buildx build --progress=plain --platform "$platform" \
        --build-arg "BASE_IMAGE=frostserver/base:trixie-slim-$arch" \
        --tag "frostserver/$service:$arch" "services/$service" 2>&1 \
      | tee "$log" \
      | grep --line-buffered -E '^#[0-9]+ (\[[^]]*\] [A-Z]|DONE [0-9.]+s|CACHED|ERROR)|^#[0-9]+ [0-9.]+ (Setting up |Collecting |Successfully |added [0-9]+ packages|.*built in)' \
      | sed -u 's/^/      /'; then
    tail -n 30 "$log" >&2
    fail "building frostserver/$service:$arch failed (see $log)"
  fi
  local recorded
  recorded=$(docker image inspect -f '{{ .Os }}/{{ .Architecture }}{{ with .Variant }}/{{ . }}{{ end }}' \
             "frostserver/$service:$arch")
  step "$arch: frostserver/$service:$arch built ($recorded)"
}

build() {
  local arch=$1
  platform_of "$arch" >/dev/null
  step "$arch: provisioning (engine, plugins, QEMU, base image of $arch)"
  scripts/provision.sh --arch "$arch"
  for service in web app nginx; do build_image "$arch" "$service"; done
}

# test_arch ARCH: the smoke set of the integration suite, unchanged, on ARCH's images.
test_arch() {
  local arch=$1 begun=$SECONDS overlays=""
  build "$arch"
  [ "$arch" = "$(host_arch)" ] || overlays=compose.emulated.yaml
  step "$arch: the smoke tests, through nginx (pytest -m smoke tests/integration)"
  FROST_IMAGE_TAG=$arch FROST_TEST_BUILD=never FROST_TEST_OVERLAYS=$overlays \
    FROST_TEST_PROJECT="frost$arch" TESTCONTAINERS_RYUK_DISABLED=true \
    .venv/bin/python -m pytest -m smoke tests/integration -v -s -p no:cacheprovider \
      --junitxml="$log_dir/smoke-$arch.xml" 2>&1 | tee "$log_dir/smoke-$arch.log"
  local status=${PIPESTATUS[0]}
  timings+=("$arch: $((SECONDS - begun)) s (build and test), $([ "$status" = 0 ] && echo passed || echo FAILED)")
  return "$status"
}

# bundle ARCH [OUT]: everything a device of ARCH needs to run the stack with no registry and no build.
bundle() {
  local arch=$1 out work name
  out=${2:-dist/frostserver-$arch.tar}
  build "$arch"
  name=frostserver-$arch
  work=$(mktemp -d)
  step "$arch: writing $out"
  mkdir -p "$work/$name/config/access" "$(dirname "$out")"
  cp compose.yaml "$work/$name/"
  cp config/frostserver.toml "$work/$name/config/"
  [ -f config/access/README.md ] && cp config/access/README.md "$work/$name/config/access/"
  printf 'FROST_IMAGE_TAG=%s\n' "$arch" >"$work/$name/.env"
  sed -e "s/@ARCH@/$arch/g" -e "s|@PLATFORM@|$(platform_of "$arch")|g" \
      -e "s/@COMMIT@/$(git rev-parse --short HEAD)/g" deploy/bundle-README.md.in >"$work/$name/README.md"
  step "$arch: docker save frostserver/{web,app,nginx}:$arch"
  docker save "frostserver/web:$arch" "frostserver/app:$arch" "frostserver/nginx:$arch" \
    | gzip -1 >"$work/$name/images.tar.gz"
  tar -C "$work" -cf "$out" "$name"
  rm -rf "$work"
  step "$arch: $out ($(du -h "$out" | cut -f1)): carry it to the device, then see its README.md"
}

[ $# -ge 2 ] || usage
command=$1
shift
case $command in
  build) for arch in "$@"; do build "$arch"; done ;;
  test)
    [ -x .venv/bin/python ] || fail ".venv is missing: run \`make .venv/.installed\` (make test-arm does)"
    scripts/provision.sh --tests >/dev/null
    timings=()
    status=0
    for arch in "$@"; do test_arch "$arch" || status=1; done
    step "time per architecture:"
    printf '      %s\n' "${timings[@]}"
    exit "$status" ;;
  bundle) bundle "$@" ;;
  *) usage ;;
esac
