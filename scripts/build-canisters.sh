#!/usr/bin/env bash
# Builds canisters to target/canisters/<name>.wasm.gz, reproducibly, and
# prints name, bytes and sha256 of each.
#
#   scripts/build-canisters.sh            # every canister
#   scripts/build-canisters.sh ledger     # only the ones named
#
# The wasm toolchain is chosen here: an installed wasm32-unknown-unknown
# target is used as it is; otherwise Debian's Rust toolchain builds the
# standard library from source (installed on the spot when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The NNS canisters, then the application canister that burns cycles.
ALL_CANISTERS=(ledger index cmc governance cycles-ledger app swap token-ledger node-rewards)
# Built only when named: the example projects' canisters (examples/).
EXAMPLE_CANISTERS=(counter)
WASM_TARGET=wasm32-unknown-unknown
OUT_DIR="$ROOT/target/canisters"
# Kept apart from host builds: another toolchain and other flags.
TARGET_DIR="$ROOT/target/wasm"
DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src lld-22)
DEBIAN_RUST_SRC=/usr/lib/rustlib/src/rust

if [ $# -gt 0 ]; then canisters=("$@"); else canisters=("${ALL_CANISTERS[@]}"); fi
for name in "${canisters[@]}"; do
  case " ${ALL_CANISTERS[*]} ${EXAMPLE_CANISTERS[*]} " in
    *" $name "*) ;;
    *) echo "unknown canister '$name' (known: ${ALL_CANISTERS[*]} ${EXAMPLE_CANISTERS[*]})" >&2; exit 2 ;;
  esac
done

has_installed_wasm_target() {
  local sysroot
  sysroot="$(rustc --print sysroot 2>/dev/null)" || return 1
  [ -d "$sysroot/lib/rustlib/$WASM_TARGET/lib" ]
}

ensure_debian_toolchain() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "The $WASM_TARGET target is not installed and cannot be downloaded here." >&2
    echo "Install Debian's Rust toolchain, which can build the standard library for it:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing Debian's Rust toolchain for $WASM_TARGET: ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# icp-cli builds every canister at once: the first build to find the
# toolchain missing installs it while the others wait (dpkg takes one
# installer at a time), then they find it installed.
TOOLCHAIN_LOCK="$ROOT/target/.debian-toolchain.lock"
ensure_debian_toolchain_locked() {
  local lock_fd
  mkdir -p "$(dirname "$TOOLCHAIN_LOCK")"
  exec {lock_fd}>"$TOOLCHAIN_LOCK"
  if ! flock -n "$lock_fd"; then
    echo "Waiting for another build to finish installing the toolchain ($TOOLCHAIN_LOCK)" >&2
    flock "$lock_fd"
  fi
  ensure_debian_toolchain
  exec {lock_fd}>&-
}

# Paths in panic messages would differ between checkouts; map them to fixed names.
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
rustflags=(
  "--remap-path-prefix=$ROOT=/build"
  "--remap-path-prefix=$CARGO_HOME_DIR=/cargo"
)
# The ledger runs on every transfer and the index on every block: both are
# built for speed, as are governance, the apps and the swap; the CMC spends
# its time in calls to other canisters and is built for size (see the
# profiles in Cargo.toml).
profile_of() {
  case "$1" in
    ledger | cycles-ledger | token-ledger | index | governance | app | swap) echo canister ;;
    *) echo canister-small ;;
  esac
}

# One cargo invocation per profile, for the canisters that use it.
build_profile() {
  local profile="$1"
  local packages=()
  for name in "${canisters[@]}"; do
    [ "$(profile_of "$name")" = "$profile" ] && packages+=(-p "$name")
  done
  [ ${#packages[@]} -eq 0 ] && return 0
  local cargo_args=(build --locked --profile "$profile" --target "$WASM_TARGET" --target-dir "$TARGET_DIR" "${packages[@]}")
  if has_installed_wasm_target; then
    RUSTFLAGS="${rustflags[*]}" cargo "${cargo_args[@]}"
  else
    # RUSTC_BOOTSTRAP enables -Zbuild-std on this stable compiler; the rustup
    # proxies' variables are cleared so that Debian's cargo uses its own rustc.
    env -u RUSTUP_TOOLCHAIN -u RUSTUP_HOME -u CARGO -u RUSTC -u RUSTDOC \
      RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="${rustflags[*]}" \
      /usr/bin/cargo "${cargo_args[@]}" -Zbuild-std=std,panic_abort
  fi
}

if has_installed_wasm_target; then
  toolchain="installed $WASM_TARGET target ($(rustc --version))"
else
  ensure_debian_toolchain_locked
  toolchain="Debian $(/usr/bin/rustc --version), standard library built from source"
  rustflags+=("--remap-path-prefix=$DEBIAN_RUST_SRC=/rust")
fi
build_profile canister
build_profile canister-small

mkdir -p "$OUT_DIR"
echo "toolchain: $toolchain"
printf '%-12s %10s  %s\n' canister bytes sha256
for name in "${canisters[@]}"; do
  wasm="$TARGET_DIR/$WASM_TARGET/$(profile_of "$name")/${name//-/_}.wasm"
  # -n: no name or timestamp in the header, so the bytes depend on the module only.
  # A temporary file of this build's own: builds of one canister may run at once.
  gzip -n -9 -c "$wasm" > "$OUT_DIR/$name.wasm.gz.tmp.$$"
  mv "$OUT_DIR/$name.wasm.gz.tmp.$$" "$OUT_DIR/$name.wasm.gz"
  printf '%-12s %10s  %s\n' "$name" "$(stat -c %s "$OUT_DIR/$name.wasm.gz")" \
    "$(sha256sum "$OUT_DIR/$name.wasm.gz" | cut -d' ' -f1)"
done
