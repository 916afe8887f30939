#!/usr/bin/env bash
# Joystick interposer: the portable .so (glibc <= 2.17), the LD_PRELOAD test program,
# and Debian's jstest/evtest reading /dev/input/js0 and /dev/input/event1000 through the
# interposer while gamepad-feed drives the host's gamepad service with data-channel messages.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

. ci/checks/lib/common.sh
need_debs 50-interposer joystick evtest binutils python3-venv

echo "--- build: portable interposer (cargo-zigbuild, x86_64-unknown-linux-gnu.2.17)"
SO=$(js-interposer/build-portable.sh)
portable_so_checks "$SO" open open64 openat openat64 __open_2 __open64_2 fopen fopen64 close ioctl \
  read __read_chk

echo "--- check: LD_PRELOAD test program against the portable build"
SELKIES_INTERPOSER_SO="$SO" cargo test --locked -p selkies-js-interposer --test preload 2>&1 \
  | grep -vE '^\s*(Compiling|Finished|Running)' | sed 's/^/    /'

echo "--- build: gamepad-feed"
cargo build --locked -p selkies-gamepad-feed 2>&1 | tail -1
FEED=target/debug/gamepad-feed

WORK=$(mktemp -d)
created=()
cleanup() {
  [ -n "${FEED_PID:-}" ] && kill "$FEED_PID" 2>/dev/null || true
  for f in "${created[@]}"; do rm -rf "$f"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# Apps that enumerate /dev/input need placeholders; the interposer itself matches the path.
if [ ! -e /dev/input ] && mkdir /dev/input 2>/dev/null; then created+=(/dev/input); fi
for n in js0 event1000; do
  if [ ! -e /dev/input/$n ] && touch /dev/input/$n 2>/dev/null; then
    chmod 777 /dev/input/$n; created+=(/dev/input/$n)
  fi
done

# run_readers <label> <jstest command...> -- <evtest command...>
# Starts a pad through gamepad-feed, runs both readers against it, injects js,… messages, then
# disconnects the pad (which ends both readers with ENODEV) and checks what they printed.
run_readers() {
  local label=$1; shift
  local js=() ev=()
  while [ "$1" != "--" ]; do js+=("$1"); shift; done; shift
  ev=("$@")
  rm -f "$WORK"/*.out "$WORK/feed"
  mkfifo "$WORK/feed"
  "$FEED" --js_socket_path "$WORK" < "$WORK/feed" > "$WORK/feed.out" 2> "$WORK/feed.err" &
  FEED_PID=$!
  exec 3> "$WORK/feed"
  echo 'js,c,0,WGJveA==,4,17' >&3
  for _ in $(seq 100); do [ -S "$WORK/selkies_event1000.sock" ] && break; sleep 0.05; done
  SELKIES_INTERPOSER_SOCKET_PATH="$WORK" timeout 5 "${js[@]}" --event /dev/input/js0 > "$WORK/jstest.out" 2>&1 &
  local js_pid=$!
  SELKIES_INTERPOSER_SOCKET_PATH="$WORK" timeout 5 "${ev[@]}" /dev/input/event1000 > "$WORK/evtest.out" 2>&1 &
  local ev_pid=$!
  # A button, a stick half right, the right trigger fully pressed, d-pad right; then js,d.
  printf '%s\n' 'wait,0,2' 'js,b,0,0,1' 'js,a,0,0,0.5' 'js,b,0,7,1' 'js,b,0,15,1' 'sleep,300' 'js,d,0' >&3
  exec 3>&-
  wait "$js_pid" || true
  wait "$ev_pid" || true
  wait "$FEED_PID" || true
  FEED_PID=

  local fail=0
  expect() { # file, description, extended regex
    if grep -qE "$3" "$WORK/$1"; then echo "    ok   $label $2"; else echo "    FAIL $label $2 (/$3/ not in $1)"; fail=1; fi
  }
  expect feed.out "gamepad-feed reports its mode" '^mode: interposer sockets in '
  expect jstest.out "jstest: device name and 8 axes" '^Joystick \(Selkies Controller\) has 8 axes \(X, Y, Z, Rx, Ry, Rz, Hat0X, Hat0Y\)'
  expect jstest.out "jstest: 11 buttons" '^and 11 buttons \(BtnA, BtnB, BtnX, BtnY, BtnTL, BtnTR, BtnSelect, BtnStart, BtnMode, BtnThumbL, BtnThumbR\)'
  expect jstest.out "jstest: initial trigger state -32767" 'type 2, time [0-9]+, number 2, value -32767'
  expect jstest.out "jstest: button A pressed" 'type 1, time [0-9]+, number 0, value 1$'
  expect jstest.out "jstest: stick X at 0.5 = 16384" 'type 2, time [0-9]+, number 0, value 16384$'
  expect jstest.out "jstest: right trigger = 32767" 'type 2, time [0-9]+, number 5, value 32767$'
  expect jstest.out "jstest: d-pad right = hat X 32767" 'type 2, time [0-9]+, number 6, value 32767$'
  expect jstest.out "jstest: device gone after js,d" 'error reading: No such device'
  expect evtest.out "evtest: device name" '^Input device name: "Selkies Controller 1"'
  expect evtest.out "evtest: xpad id" 'bus 0x6 vendor 0x45e product 0x28e version 0x1'
  expect evtest.out "evtest: BTN_SOUTH advertised" 'Event code 304 \(BTN_SOUTH\)'
  expect evtest.out "evtest: trigger range 0..255" 'Max +255'
  expect evtest.out "evtest: EV_KEY BTN_SOUTH 1" 'type 1 \(EV_KEY\), code 304 \(BTN_SOUTH\), value 1$'
  expect evtest.out "evtest: EV_ABS ABS_X 16384" 'type 3 \(EV_ABS\), code 0 \(ABS_X\), value 16384$'
  expect evtest.out "evtest: EV_ABS ABS_RZ 255" 'type 3 \(EV_ABS\), code 5 \(ABS_RZ\), value 255$'
  expect evtest.out "evtest: EV_ABS ABS_HAT0X 1" 'type 3 \(EV_ABS\), code 16 \(ABS_HAT0X\), value 1$'
  expect evtest.out "evtest: SYN_REPORT after each event" 'SYN_REPORT'
  if [ -e "$WORK/selkies_js0.sock" ] || [ -e "$WORK/selkies_event1000.sock" ]; then
    echo "    FAIL $label sockets left behind after js,d"; fail=1
  else
    echo "    ok   $label sockets removed after js,d"
  fi
  if [ "$fail" != 0 ]; then
    for f in feed.err jstest.out evtest.out; do echo "=== $f"; tail -40 "$WORK/$f"; done
    exit 1
  fi
}

echo "--- check: Debian jstest and evtest under LD_PRELOAD, events injected as js,… messages"
run_readers "[x86_64]" env LD_PRELOAD="$SO" jstest -- env LD_PRELOAD="$SO" evtest

echo "--- build: 32-bit interposer (Debian rustc-web + i386 std, cargo-zigbuild i686 glibc 2.17)"
set +e
SO32=$(js-interposer/build-portable.sh --i686)
rc=$?
set -e
if [ "$rc" = 2 ]; then
  echo "    SKIP the Debian i386 index is unavailable right now"
elif [ "$rc" != 0 ]; then
  echo "FAIL: 32-bit build"; exit 1
else
  file -L "$SO32" | sed 's/^/    /'
  file -L "$SO32" | grep -q 'ELF 32-bit.*80386' || { echo "FAIL: not an i386 ELF"; exit 1; }
  max=$(objdump -T "$SO32" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  echo "    highest: GLIBC_$max"
  [ "$(printf '%s\n2.17\n' "$max" | sort -V | tail -1)" = "2.17" ] || { echo "FAIL: needs GLIBC_$max"; exit 1; }
  # Debian's i386 jstest/evtest and i386 glibc, extracted (no foreign dpkg architecture).
  P=.cache/i686
  R32=$P/r32
  if [ ! -x "$R32/usr/bin/evtest" ]; then
    I386=(-o APT::Architecture=i386 -o APT::Architectures=i386 -o "Dir::State::Lists=$PWD/$P/lists"
          -o "Dir::Cache=$PWD/$P/cache" -o "Dir::State::Status=$PWD/$P/status" -o Debug::NoLocking=1)
    mkdir -p "$P/debs32" "$R32"
    (cd "$P/debs32" && apt-get -q "${I386[@]}" download libc6 joystick evtest 2>&1 | grep -v unsandboxed | tail -1)
    for d in "$P"/debs32/*.deb; do dpkg-deb -x "$d" "$R32"; done
  fi
  L=$PWD/$R32/lib/i386-linux-gnu
  echo "--- check: Debian i386 jstest and evtest with the 32-bit interposer"
  run_readers "[i386]" "$L/ld-linux.so.2" --library-path "$L" --preload "$SO32" "$R32/usr/bin/jstest" \
    -- "$L/ld-linux.so.2" --library-path "$L" --preload "$SO32" "$R32/usr/bin/evtest"
fi

echo "--- check: uinput mode"
if [ -w /dev/uinput ]; then
  out=$(printf '%s\n' 'js,c,0,WGJveA==,4,17' 'sleep,300' | "$FEED" --uinput --js_socket_path "$WORK" 2>/dev/null)
  echo "$out" | grep -q '^mode: uinput' && echo "    ok   uinput mode selected" || { echo "FAIL uinput mode"; exit 1; }
else
  echo "    SKIP /dev/uinput is not writable here (socket mode is the one containers use)"
fi
echo "50-interposer: all checks passed"
