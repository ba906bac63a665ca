# shellcheck shell=bash
# Shared helpers for tools/up, tools/test and tools/bench. Source, don't run.
set -euo pipefail

MLOPS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MLOPS_CACHE_DIR="${MLOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-stack}"
MLOPS_MIRROR_DIR="${MLOPS_MIRROR_DIR:-$MLOPS_CACHE_DIR/mirror}"
MLOPS_MIRROR_PORT="${MLOPS_MIRROR_PORT:-18080}"
# The previous releases the mirror also serves, for the upgrade tests (the
# default scenario's Pushgateway; nomad_cluster's Consul and Nomad servers).
export MLOPS_PUSHGATEWAY_PREVIOUS="${MLOPS_PUSHGATEWAY_PREVIOUS:-1.11.0}"
export MLOPS_CONSUL_PREVIOUS="${MLOPS_CONSUL_PREVIOUS:-1.22.6}"
export MLOPS_NOMAD_PREVIOUS="${MLOPS_NOMAD_PREVIOUS:-1.11.2}"
MLOPS_PREVIOUS_RELEASES=(--extra "pushgateway=$MLOPS_PUSHGATEWAY_PREVIOUS" --extra "consul=$MLOPS_CONSUL_PREVIOUS"
  --extra "nomad=$MLOPS_NOMAD_PREVIOUS")
MLOPS_IMAGE_PREFIX="${MLOPS_IMAGE_PREFIX:-mlops-stack/debian}"
MLOPS_DEBIAN_RELEASES="${MLOPS_DEBIAN_RELEASES:-12:bookworm 13:trixie}"
export MLOPS_ROOT MLOPS_CACHE_DIR MLOPS_MIRROR_DIR MLOPS_MIRROR_PORT MLOPS_IMAGE_PREFIX
mkdir -p "$MLOPS_CACHE_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Run a command as root (directly when we are root, else through sudo).
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "need Debian packages ${missing[*]} and this is not a Debian host: install them yourself"
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

# A virtualenv cached outside the repo: cached_venv NAME REQUIREMENTS
# [PACKAGE...] makes <cache>/NAME-py<XY>-<key> from the requirements file,
# then each PACKAGE with --no-deps; key hashes the file and the packages, so
# a change to either makes a new one. Complete once its marker is written.
# Prints its path (everything else goes to stderr).
cached_venv() {
  local name="$1" requirements="$2" key venv package
  shift 2
  key="$( (cat "$MLOPS_ROOT/$requirements"; for package in "$@"; do echo "$package"; done) | sha256sum | cut -c1-12)"
  venv="$MLOPS_CACHE_DIR/$name-py$(python3 -c 'import sys;print("%d%d"%sys.version_info[:2])')-$key"
  if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
    log "creating virtualenv $venv ($requirements)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$MLOPS_ROOT/$requirements" >&2
    for package in "$@"; do
      "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "$package" >&2
    done
    touch "$venv/.complete"
  fi
  echo "$venv"
}

# Project virtualenv, cached outside the repo and keyed by the requirements'
# content; .venv in the checkout is a symlink to it.
ensure_venv() {
  local venv
  venv="$(cached_venv venv requirements-dev.txt)" || return 1
  ln -sfn "$venv" "$MLOPS_ROOT/.venv"
  export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
  # The collection is used by its full name (mlops.stack.*) straight from the
  # checkout: .build/ansible_collections/mlops/stack points at the repo root.
  mkdir -p "$MLOPS_ROOT/.build/ansible_collections/mlops"
  ln -sfn ../../.. "$MLOPS_ROOT/.build/ansible_collections/mlops/stack"
  export ANSIBLE_CONFIG="$MLOPS_ROOT/ansible.cfg"
}

# The oldest supported ansible-core (requirements-oldest-core.txt) in a
# second cached virtualenv, with the same collection bundle as the first
# (installed --no-deps: that package asks pip for a newer core); prints its path.
ensure_oldest_core_venv() {
  cached_venv venv-oldest-core requirements-oldest-core.txt "$(grep '^ansible==' "$MLOPS_ROOT/requirements-dev.txt")"
}

# Run a command with the oldest supported ansible-core first on PATH.
with_oldest_core() {
  local venv
  venv="$(ensure_oldest_core_venv)" || return 1
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$@"
}

# A Docker engine: use the running one; otherwise, as root on Debian, install
# docker.io and start dockerd in the background with its log in the cache dir.
ensure_engine() {
  docker info >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and we are not root: start one (or add yourself to the docker group)"
  apt_install docker.io
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: $MLOPS_CACHE_DIR/dockerd.log)"
    nohup dockerd >"$MLOPS_CACHE_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -20 "$MLOPS_CACHE_DIR/dockerd.log" >&2; die "dockerd did not come up"; }
  fi
}

# systemd base images, built with debootstrap + docker import, cached by tag
# and rebuilt when the package list below changes (image label).
MLOPS_IMAGE_PACKAGES="systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,curl,gnupg,iproute2"
ensure_images() {
  local pair ver suite dir recipe
  recipe="$(printf '%s' "$MLOPS_IMAGE_PACKAGES" | sha256sum | cut -c1-12)"
  for pair in $MLOPS_DEBIAN_RELEASES; do
    ver="${pair%%:*}"; suite="${pair#*:}"
    if [ "$(docker image inspect -f '{{ index .Config.Labels "mlops.stack/recipe" }}' "$MLOPS_IMAGE_PREFIX:$ver" 2>/dev/null)" = "$recipe" ]; then
      continue
    fi
    apt_install debootstrap
    dir="$(mktemp -d "$MLOPS_CACHE_DIR/rootfs-$suite.XXXX")"
    log "building base image $MLOPS_IMAGE_PREFIX:$ver (debootstrap $suite)"
    as_root debootstrap --variant=minbase --include="$MLOPS_IMAGE_PACKAGES" \
      "$suite" "$dir" >"$MLOPS_CACHE_DIR/debootstrap-$suite.log" 2>&1 \
      || { tail -20 "$MLOPS_CACHE_DIR/debootstrap-$suite.log" >&2; as_root rm -rf "$dir"; die "debootstrap $suite failed"; }
    # No getty/console units in a container; a fresh machine-id per container.
    as_root rm -f "$dir"/etc/systemd/system/getty.target.wants/* "$dir"/etc/machine-id
    as_root touch "$dir/etc/machine-id"
    as_root tar -C "$dir" -c . | docker import \
      -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' -c "LABEL mlops.stack/recipe=$recipe" \
      - "$MLOPS_IMAGE_PREFIX:$ver" >/dev/null
    as_root rm -rf "$dir"
  done
}

# The Debian 12 base image as a `docker save` archive (gzip), for hosts whose
# own Docker engine has no registry to pull from (the training image's base);
# cached by image id. Sets MLOPS_BASE_IMAGE_ARCHIVE.
ensure_image_archive() {
  local id archive
  id="$(docker image inspect -f '{{.Id}}' "$MLOPS_IMAGE_PREFIX:12" | cut -d: -f2 | cut -c1-12)"
  archive="$MLOPS_CACHE_DIR/images/$(basename "$MLOPS_IMAGE_PREFIX")-12-$id.tar.gz"
  if [ ! -s "$archive" ]; then
    mkdir -p "$MLOPS_CACHE_DIR/images"
    rm -f "$MLOPS_CACHE_DIR/images/$(basename "$MLOPS_IMAGE_PREFIX")"-12-*.tar.gz
    log "saving $MLOPS_IMAGE_PREFIX:12 to $archive"
    docker save "$MLOPS_IMAGE_PREFIX:12" | gzip -1 >"$archive.tmp" && mv "$archive.tmp" "$archive"
  fi
  MLOPS_BASE_IMAGE_ARCHIVE="$archive"
  export MLOPS_BASE_IMAGE_ARCHIVE
}

# npm (with any Node.js): tools/mirror.py fetches with it the Node.js version
# and package manager that a web UI build asks for (Prometheus'), from the npm
# registry, into the cache. Debian's nodejs + npm are enough for that.
ensure_node() {
  command -v npm >/dev/null 2>&1 && return 0
  apt_install nodejs npm
}

# Fill the artifact mirror for the pinned versions (download or build).
ensure_mirror() {
  ensure_node
  python3 "$MLOPS_ROOT/tools/mirror.py" --mirror "$MLOPS_MIRROR_DIR" "$@"
}

# Debian's Chromium and its WebDriver (/usr/bin/chromium, /usr/bin/chromedriver)
# for the browser tests of the web UIs; fonts so that pages render text.
MLOPS_BROWSER_PACKAGES="chromium chromium-driver fonts-liberation"
ensure_browser() {
  # shellcheck disable=SC2086
  apt_install $MLOPS_BROWSER_PACKAGES
}

# Serve the mirror over HTTP where containers reach it (the engine's bridge
# gateway); sets MLOPS_ARTIFACT_MIRROR. A server this call starts is stopped
# by stop_mirror (callers run it on exit).
serve_mirror() {
  local gw url
  gw="$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)"
  gw="${gw:-172.17.0.1}"
  url="http://$gw:$MLOPS_MIRROR_PORT"
  if ! curl -fsS -o /dev/null "$url/versions.json" 2>/dev/null; then
    python3 -m http.server --bind "$gw" --directory "$MLOPS_MIRROR_DIR" "$MLOPS_MIRROR_PORT" \
      >"$MLOPS_CACHE_DIR/mirror-http.log" 2>&1 &
    MLOPS_MIRROR_PID=$!
    for _ in $(seq 1 40); do curl -fsS -o /dev/null "$url/versions.json" 2>/dev/null && break; sleep 0.25; done
  fi
  curl -fsS -o /dev/null "$url/versions.json" || die "mirror at $url does not answer"
  export MLOPS_ARTIFACT_MIRROR="$url"
}

stop_mirror() {
  if [ -n "${MLOPS_MIRROR_PID:-}" ]; then kill "$MLOPS_MIRROR_PID" 2>/dev/null || true; fi
}

collection_install() {
  # Build the collection tarball and install it where Ansible looks first, so
  # the Molecule scenarios run the roles from the built artifact by full name.
  local dist="$MLOPS_ROOT/.build/dist" inst="$MLOPS_ROOT/.build/installed" bundled
  rm -rf "$dist" "$inst" && mkdir -p "$dist" "$inst"
  ansible-galaxy collection build --force --output-path "$dist" "$MLOPS_ROOT" >/dev/null
  # Offline, with its dependencies resolved (galaxy.yml, and requirements.yml's
  # ranges) against the collections the `ansible` package bundles, as on a
  # controller or execution environment without Galaxy.
  bundled="$(python -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[-1]))')"
  ANSIBLE_COLLECTIONS_PATH="$inst:$bundled" ansible-galaxy collection install --force --offline -p "$inst" \
    "$dist"/mlops-stack-*.tar.gz >/dev/null || return 1
  ANSIBLE_COLLECTIONS_PATH="$inst:$bundled" ansible-galaxy collection install --offline -p "$inst" \
    -r "$MLOPS_ROOT/requirements.yml" >/dev/null || return 1
  # Every role's argument spec and every plugin's documentation in the
  # installed artifact renders.
  local kind names
  for kind in role module lookup filter; do
    mapfile -t names < <(ANSIBLE_COLLECTIONS_PATH="$inst:$bundled" ansible-doc -t "$kind" --list --json mlops.stack \
      | python -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
    [ ${#names[@]} -gt 0 ] || { echo "ansible-doc lists no $kind of mlops.stack"; return 1; }
    ANSIBLE_COLLECTIONS_PATH="$inst:$bundled" ansible-doc -t "$kind" "${names[@]}" >/dev/null || return 1
    echo "ansible-doc -t $kind: ${names[*]}"
  done
  ls "$dist"/mlops-stack-*.tar.gz
}
